// A panic inside the library (forced by the core's test hook, compiled into the testing build
// only) reaches Kotlin as CallbackException.OutcomeUnknown, and the client and the process go on.
package bitrix24.callback.tests

import bitrix24.callback.CallbackException
import bitrix24.callback.ErrorCode
import kotlinx.coroutines.runBlocking
import org.junit.Before
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

/** `callback_core::TEST_PANIC_LINE`: a start from this line panics inside the core. */
const val TEST_PANIC_LINE = "test-hook:panic"

class PanicTest {
    @Before
    fun clean() = Portal.reset()

    @Test
    fun aPanicIsOutcomeUnknownAndEverythingGoesOn() = runBlocking<Unit> {
        webhookClient().use { client ->
            val blocking = expectError<CallbackException.OutcomeUnknown>(ErrorCode.OUTCOME_UNKNOWN) {
                client.startCallbackBlocking(request(line = TEST_PANIC_LINE))
            }
            assertFalse(blocking.retrySafe)
            assertTrue(blocking.description.isNotBlank())
            // The same from a coroutine: the panic happens on the library's call thread.
            val suspended = try {
                client.startCallback(request(line = TEST_PANIC_LINE))
                null
            } catch (e: CallbackException.OutcomeUnknown) {
                e
            }
            assertNotNull(suspended, "the panicking start did not throw OutcomeUnknown")
            assertFalse(suspended.retrySafe)
            // The client still serves, blocking and suspending, and so does a new one.
            assertNotNull(client.startCallbackBlocking(request()).callId)
            assertNotNull(client.startCallback(request()).callId)
            assertTrue(client.lines().isNotEmpty())
            webhookClient().use { other -> assertNotNull(other.startCallback(request()).callId) }
            assertEquals(3, Portal.ledger().size)
        }
    }
}
