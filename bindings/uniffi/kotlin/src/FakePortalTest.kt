// The fake portal in the box (FakePortal, the testing build's): what an app's own tests use.
package bitrix24.callback.tests

import bitrix24.callback.CallbackClient
import bitrix24.callback.ClientOptions
import bitrix24.callback.FakeFault
import bitrix24.callback.FakeFaultKind
import bitrix24.callback.FakeLine
import bitrix24.callback.FakePortal
import bitrix24.callback.FakePortalException
import bitrix24.callback.FakePortalOptions
import bitrix24.callback.fakePortalAvailable
import kotlinx.coroutines.runBlocking
import java.time.Duration
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

class FakePortalTest {
    @Test
    fun aPortalOfItsOwnWithTlsLinesAndOAuth() = runBlocking<Unit> {
        assertTrue(fakePortalAvailable())
        val options = FakePortalOptions(
            tls = true,
            stageDuration = Duration.ofMillis(50),
            lines = listOf(FakeLine("sales", "Sales & <Support>")),
        )
        FakePortal.start(options).use { portal ->
            assertTrue(portal.baseUrl().startsWith("https://127.0.0.1:"))
            val ca = assertNotNull(portal.caPem())
            // Without its CA the client refuses the certificate; with it, it talks.
            CallbackClient.webhook(portal.webhookUrl(), ClientOptions(rootCertificates = listOf(ca))).use { client ->
                assertEquals(listOf("sales" to "Sales & <Support>"), client.lines().map { it.id to it.name })
                val started = client.startCallback(request(line = "sales"))
                val record = assertNotNull(client.waitForOutcome(started.callId!!, Duration.ofSeconds(10)))
                assertEquals(started.callId, record.callId)
                assertEquals("ended", portal.call(started.callId!!)?.stage)
                assertEquals(1, portal.ledger().size)
                assertEquals(1UL, portal.stats().callsPlaced)
            }
            CallbackClient.oauth(portal.issueOauthCredentials(), ClientOptions(rootCertificates = listOf(ca))).use { client ->
                portal.expireAccessTokens()
                assertTrue(client.voices().isNotEmpty())
                assertEquals(1UL, portal.stats().refreshes)
            }
            // Settings change while it runs; faults are scripted and counted.
            portal.update(FakePortalOptions(lineListPermission = false))
            portal.addFault(FakeFault(FakeFaultKind.Overload, method = "voximplant.tts.voices.get"))
            assertEquals(1, portal.requests().count { it.restMethod == "voximplant.line.get" })
            portal.reset()
            assertEquals(0, portal.ledger().size)
            assertFalse(portal.toString().contains(portal.webhookSecret()))
        }
    }

    @Test
    fun badFaultsAreRefusedAndAStoppedPortalIsEmpty() {
        val portal = FakePortal.start()
        val e = assertFailsWith<FakePortalException.Failed> {
            portal.addFault(FakeFault(FakeFaultKind.Respond(700u, "{}", null, false)))
        }
        assertTrue(e.reason.contains("700"), e.reason)
        val url = portal.webhookUrl()
        assertTrue(portal.isRunning())
        portal.stop()
        assertFalse(portal.isRunning())
        assertEquals(url, portal.webhookUrl())
        assertTrue(portal.ledger().isEmpty())
        portal.close()
    }
}
