// CallbackClient.fromEnv: the command line's variables, the app's own options on top.
package bitrix24.callback.tests

import bitrix24.callback.CallbackClient
import bitrix24.callback.CallbackException
import bitrix24.callback.ClientOptions
import bitrix24.callback.ErrorCode
import com.sun.jna.Library
import com.sun.jna.Native
import org.junit.After
import org.junit.Before
import java.time.Duration
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse

/** The JVM cannot change its own environment; the C library can (and the library reads it). */
private interface LibC : Library {
    fun setenv(name: String, value: String, overwrite: Int): Int
    fun unsetenv(name: String): Int
}

private val libc: LibC = Native.load("c", LibC::class.java)

class FromEnvTest {
    private val names = listOf(
        "BITRIX24_WEBHOOK_URL", "BITRIX24_CLIENT_ID", "BITRIX24_DEFAULT_REGION", "BITRIX24_TIMEOUT",
        "BITRIX24_ALLOWED_REGIONS",
    )

    @Before
    fun clean() {
        Portal.reset()
        names.forEach { libc.unsetenv(it) }
    }

    @After
    fun restore() = names.forEach { libc.unsetenv(it) }

    private fun fields(e: CallbackException) = e.details().violations.map { it.field }

    @Test
    fun withoutAnyVariableTheWebhookIsMissing() {
        val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) { CallbackClient.fromEnv() }
        assertEquals(listOf("BITRIX24_WEBHOOK_URL"), fields(e))
    }

    @Test
    fun theVariablesConfigureTheClient() {
        libc.setenv("BITRIX24_WEBHOOK_URL", Portal.webhookUrl, 1)
        libc.setenv("BITRIX24_DEFAULT_REGION", "US", 1)
        libc.setenv("BITRIX24_ALLOWED_REGIONS", "US,CA", 1)
        CallbackClient.fromEnv().use { client ->
            val number = Numbers.fresh()
            val national = number.removePrefix("+1")
            assertEquals(number, client.validate(request(national)).toNumber)
            client.startCallbackBlocking(request(national))
            assertEquals(1, Portal.ledger().size)
            // The allowed regions came from the environment too.
            expectError<CallbackException.DestinationBlocked>(ErrorCode.DESTINATION_BLOCKED) {
                client.checkCallbackBlocking(request("+44 20 7946 0000"))
            }
        }
    }

    @Test
    fun explicitOptionsOverrideTheVariables() {
        libc.setenv("BITRIX24_WEBHOOK_URL", Portal.webhookUrl, 1)
        libc.setenv("BITRIX24_DEFAULT_REGION", "XX", 1)
        // The environment's region is bad ...
        val e = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) { CallbackClient.fromEnv() }
        assertEquals(listOf("BITRIX24_DEFAULT_REGION"), fields(e))
        // ... unless the app's own option replaces it.
        val mine = ClientOptions(defaultRegion = "GB", userAgentSuffix = "kotlin-env")
        CallbackClient.fromEnv(mine).use { client ->
            assertEquals("+442079460000", client.validate(request("020 7946 0000")).toNumber)
            client.linesBlocking()
            val agent = Portal.requests().last().userAgent ?: ""
            assertEquals(true, agent.endsWith(") kotlin-env"), agent)
        }
        // A bad option of the app's is named as Kotlin spells it.
        libc.setenv("BITRIX24_DEFAULT_REGION", "US", 1)
        val bad = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
            CallbackClient.fromEnv(ClientOptions(deadline = Duration.ZERO))
        }
        assertEquals(listOf("deadline"), fields(bad))
        libc.setenv("BITRIX24_TIMEOUT", "soon", 1)
        val unreadable = expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) { CallbackClient.fromEnv() }
        assertEquals(listOf("BITRIX24_TIMEOUT"), fields(unreadable))
        assertFalse("$unreadable ${unreadable.message}".contains(Portal.webhookSecret))
    }
}
