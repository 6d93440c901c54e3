// Telephony events end to end: the fake portal POSTs its events to a handler in this process,
// and parseEvent verifies and reads them.
package bitrix24.callback.tests

import bitrix24.callback.CallOutcome
import bitrix24.callback.CallbackException
import bitrix24.callback.ErrorCode
import bitrix24.callback.TelephonyEvent
import bitrix24.callback.parseEvent
import com.sun.net.httpserver.HttpServer
import bitrix24.callback.FakePortalOptions
import org.junit.Before
import java.net.InetSocketAddress
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull

class EventsTest {
    @Before
    fun clean() = Portal.reset()

    @Test
    fun eventsFromThePortalAreVerifiedAndParsed() {
        val bodies = LinkedBlockingQueue<String>()
        val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
        server.createContext("/events") { exchange ->
            bodies += exchange.requestBody.readBytes().decodeToString()
            exchange.sendResponseHeaders(200, -1)
            exchange.close()
        }
        server.start()
        val token = "kotlin-application-token-0001"
        try {
            Portal.update(
                FakePortalOptions(
                    eventHandler = "http://127.0.0.1:${server.address.port}/events",
                    applicationToken = token,
                ),
            )
            webhookClient().use { client ->
                val callId = assertNotNull(client.startCallbackBlocking(request("+12015550102")).callId)
                var end: TelephonyEvent? = null
                var endBody = ""
                val until = System.nanoTime() + 20_000_000_000
                while (end == null && System.nanoTime() < until) {
                    val body = bodies.poll(200, TimeUnit.MILLISECONDS) ?: continue
                    val event = parseEvent(body.toByteArray(), token)
                    if (event.callId == callId && event.event == "ONVOXIMPLANTCALLEND") {
                        end = event
                        endBody = body
                    }
                }
                val e = assertNotNull(end, "ONVOXIMPLANTCALLEND for $callId")
                assertEquals(CallOutcome.NO_ANSWER, e.outcome)
                assertEquals("304", e.data["CALL_FAILED_CODE"])
                assertFalse(e.toString().contains("2015550102"), "number printed: $e")
                expectError<CallbackException.AuthFailed>(ErrorCode.AUTH_FAILED) {
                    parseEvent(endBody.toByteArray(), "another-application-token")
                }
            }
        } finally {
            Portal.update(FakePortalOptions(eventHandler = ""))
            server.stop(0)
        }
    }
}
