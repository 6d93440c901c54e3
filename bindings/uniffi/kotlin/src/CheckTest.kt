// checkCallback (the decision of startCallback without traffic or reservation) and the
// destination policy's options.
package bitrix24.callback.tests

import bitrix24.callback.CallbackException
import bitrix24.callback.DestinationPolicy
import bitrix24.callback.ErrorCode
import bitrix24.callback.NumberType
import bitrix24.callback.defaultHighRiskRegions
import bitrix24.callback.maskNumber
import bitrix24.callback.numberTypeFromStr
import org.junit.Before
import java.time.Duration
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

class CheckTest {
    @Before
    fun clean() = Portal.reset()

    @Test
    fun allowedDestinationHidesTheNumberWhenPrinted() {
        webhookClient().use { client ->
            val d = client.checkCallbackBlocking(request("+44 20 7946 0000"))
            assertEquals("+442079460000", d.number)
            assertEquals(maskNumber(d.number), d.maskedNumber)
            assertEquals("GB", d.region)
            assertEquals(NumberType.FIXED_LINE, d.numberType)
            assertTrue(d.toString().contains(d.maskedNumber), "$d")
            assertFalse(d.toString().contains("2079460000"), "number in: $d")
            assertEquals(0, Portal.requests().size, "checkCallback sent something")
        }
    }

    @Test
    fun premiumRateIsRefusedWithItsCode() {
        webhookClient().use { client ->
            val e = expectError<CallbackException.DestinationBlocked>(ErrorCode.DESTINATION_BLOCKED) {
                client.checkCallbackBlocking(request("+39 0878 123 45"))
            }
            assertEquals(listOf("TO_NUMBER" to "premium_rate"), e.violations.map { it.field to it.code })
            assertNull(e.httpStatus)
            assertEquals(0, Portal.requests().size, "checkCallback sent something")
        }
    }

    @Test
    fun checkingSendsAndReservesNothing() {
        webhookClient().use { client ->
            val number = Numbers.fresh()
            repeat(10) { client.checkCallbackBlocking(request(number)) }
            assertEquals(0, Portal.requests().size, "checkCallback sent something")
            client.startCallbackBlocking(request(number))
            assertEquals(1, Portal.ledger().size)
            // Now startCallback would refuse the number (cooldown), and so does the check.
            val sent = Portal.requests().size
            val e = expectError<CallbackException.DestinationBlocked>(ErrorCode.DESTINATION_BLOCKED) {
                client.checkCallbackBlocking(request(number))
            }
            assertEquals(listOf("TO_NUMBER" to "cooldown"), e.violations.map { it.field to it.code })
            assertEquals(sent, Portal.requests().size, "checkCallback sent something")
        }
    }

    @Test
    fun idempotencyKeyReusedForAnotherNumberIsRefused() {
        webhookClient().use { client ->
            val first = Numbers.fresh()
            val other = Numbers.fresh()
            client.startCallbackBlocking(request(first, key = "form-7"))
            // The same request: startCallback would answer from memory, so the check accepts it.
            assertEquals(first, client.checkCallbackBlocking(request(first, key = "form-7")).number)
            for (call in listOf(
                { client.checkCallbackBlocking(request(other, key = "form-7")) },
                { client.startCallbackBlocking(request(other, key = "form-7")) },
            )) {
                val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) { call() }
                assertEquals(listOf("idempotency_key" to "reused"), e.violations.map { it.field to it.code })
            }
            assertEquals(1, Portal.ledger().size, "calls placed")
        }
    }

    @Test
    fun badPolicyValuesAreReportedTogether() {
        val policy = DestinationPolicy(blockedRegions = listOf("XX"), allowedPrefixes = listOf("44"))
        val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
            webhookClient(options(policy = policy))
        }
        assertEquals(
            listOf(
                "destinationPolicy.blockedRegions" to "unknown_region",
                "destinationPolicy.allowedPrefixes" to "invalid_prefix",
            ),
            e.violations.map { it.field to it.code },
        )
    }

    @Test
    fun hourlyCapIsAnOption() {
        val policy = DestinationPolicy(numberCooldown = Duration.ZERO, numberHourlyCap = 2u)
        webhookClient(options(policy = policy)).use { client ->
            val number = Numbers.fresh()
            repeat(2) { client.startCallbackBlocking(request(number)) }
            for (call in listOf({ client.checkCallbackBlocking(request(number)) }, { client.startCallbackBlocking(request(number)) })) {
                val e = expectError<CallbackException.DestinationBlocked>(ErrorCode.DESTINATION_BLOCKED) { call() }
                assertEquals(listOf("TO_NUMBER" to "hourly_cap"), e.violations.map { it.field to it.code })
            }
            assertEquals(2, Portal.ledger().size, "calls placed")
        }
    }

    @Test
    fun numberTypesAndTheHighRiskList() {
        assertEquals(12, NumberType.entries.size)
        for (t in NumberType.entries) assertEquals(t, numberTypeFromStr(t.asStr()))
        assertEquals("premium_rate", NumberType.PREMIUM_RATE.asStr())
        assertNull(numberTypeFromStr("nonsense"))
        assertTrue("JM" in defaultHighRiskRegions(), "${defaultHighRiskRegions()}")
        val own = DestinationPolicy(highRiskRegions = listOf("CU"))
        webhookClient(options(policy = own)).use { client ->
            assertEquals("JM", client.checkCallbackBlocking(request("+1 876 555 0123")).region)
        }
    }
}
