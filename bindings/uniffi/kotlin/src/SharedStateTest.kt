// The sharedState option reaches the library: no Redis runs beside these tests, so a URL where
// nothing listens must refuse every keyed decision before anything is sent.
package bitrix24.callback.tests

import bitrix24.callback.CallbackClient
import bitrix24.callback.CallbackException
import bitrix24.callback.ClientOptions
import bitrix24.callback.ErrorCode
import org.junit.Before
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** Nothing listens on port 1 of the loopback interface. */
private const val UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"

private fun shared(url: String, prefix: String? = null): ClientOptions =
    options().copy(sharedState = url, sharedStatePrefix = prefix)

class SharedStateTest {
    @Before
    fun clean() = Portal.reset()

    @Test
    fun unreachableSharedStateRefusesBeforeSending() {
        webhookClient(shared(UNREACHABLE_REDIS)).use { client ->
            val req = request(key = "form-1")
            val calls = listOf<() -> Unit>(
                { client.startCallbackBlocking(req) },
                { client.checkCallbackBlocking(req) },
            )
            for (call in calls) {
                val e = expectError<CallbackException.SharedStateUnavailable>(ErrorCode.SHARED_STATE_UNAVAILABLE) {
                    call()
                }
                assertTrue(e.retrySafe)
                assertNull(e.httpStatus)
                assertEquals(ErrorCode.SHARED_STATE_UNAVAILABLE, e.details().code)
            }
        }
        assertEquals(0, Portal.requests().size, "something reached the portal")
        assertEquals(0, Portal.ledger().size)
    }

    @Test
    fun aPrefixIsAcceptedWithTheUrl() {
        webhookClient(shared(UNREACHABLE_REDIS, prefix = "my-site:")).use { client ->
            expectError<CallbackException.SharedStateUnavailable>(ErrorCode.SHARED_STATE_UNAVAILABLE) {
                client.startCallbackBlocking(request(key = "form-2"))
            }
        }
        val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
            CallbackClient.webhook(Portal.webhookUrl, shared(UNREACHABLE_REDIS, prefix = "bad\nprefix"))
        }
        assertEquals(listOf("sharedStatePrefix" to "invalid_character"), e.violations.map { it.field to it.code })
        assertEquals(0, Portal.requests().size)
    }

    @Test
    fun aBadUrlIsAnInvalidOption() {
        val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
            CallbackClient.webhook(Portal.webhookUrl, shared("http://x"))
        }
        assertEquals(listOf("sharedState" to "invalid_url"), e.violations.map { it.field to it.code })
        assertTrue(e.violations.all { it.description.isNotBlank() }, "${e.violations}")
    }

    @Test
    fun thePasswordIsNeverShown() {
        val opts = shared("redis://:s3cretpw@127.0.0.1:1/0")
        assertFalse(opts.toString().contains("s3cretpw"), "password in: $opts")
        webhookClient(opts).use { client ->
            val e = expectError<CallbackException.SharedStateUnavailable>(ErrorCode.SHARED_STATE_UNAVAILABLE) {
                client.startCallbackBlocking(request(key = "form-3"))
            }
            val text = "${e.message} $e ${e.details()} ${e.details().description}"
            assertFalse(text.contains("s3cretpw"), "password in: $text")
        }
        // A URL refused as invalid is not repeated either.
        val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
            CallbackClient.webhook(Portal.webhookUrl, shared("redis://:s3cretpw@[::1"))
        }
        assertEquals(listOf("sharedState" to "invalid_url"), e.violations.map { it.field to it.code })
        assertFalse("${e.message} $e ${e.violations}".contains("s3cretpw"), "password in: $e")
        assertEquals(0, Portal.requests().size)
    }
}
