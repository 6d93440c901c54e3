// OAuth: refresh on expiry, rotated tokens handed to the app's TokenStore, store failures.
package bitrix24.callback.tests

import bitrix24.callback.CallbackClient
import bitrix24.callback.CallbackException
import bitrix24.callback.ErrorCode
import bitrix24.callback.OAuthCredentials
import bitrix24.callback.TokenPair
import bitrix24.callback.TokenStore
import bitrix24.callback.TokenStoreException
import org.junit.Before
import java.util.Collections
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

class OAuthTest {
    @Before
    fun clean() = Portal.reset()

    private fun credentials(): OAuthCredentials {
        val grant = Portal.issueTokens()
        return OAuthCredentials(
            clientId = Portal.oauthClientId,
            clientSecret = Portal.oauthClientSecret,
            accessToken = grant.accessToken,
            refreshToken = grant.refreshToken,
            clientEndpoint = Portal.clientEndpoint,
            serverEndpoint = Portal.serverEndpoint,
        )
    }

    private class Recorder : TokenStore {
        val saved: MutableList<TokenPair> = Collections.synchronizedList(ArrayList())
        override fun save(tokens: TokenPair) {
            saved += tokens
        }
    }

    @Test
    fun rotatedTokensReachTheTokenStore() {
        val creds = credentials()
        val store = Recorder()
        CallbackClient.oauth(creds, options(), store).use { client ->
            client.linesBlocking()
            assertEquals(0, store.saved.size, "no refresh while the token is valid")

            Portal.expireTokens()
            val started = client.startCallbackBlocking(request())
            assertNotNull(started.callId)
            assertEquals(1, store.saved.size, "one rotation")
            val pair = store.saved[0]
            assertNotEquals(creds.accessToken, pair.accessToken)
            assertNotEquals(creds.refreshToken, pair.refreshToken)
            assertFalse(pair.toString().contains(pair.accessToken), "printed token: $pair")
            assertFalse(pair.toString().contains(pair.refreshToken), "printed token: $pair")

            client.voicesBlocking()
            assertEquals(1, store.saved.size, "the new token is in use")
            assertEquals(1, Portal.ledger().size)
        }
    }

    @Test
    fun tokenStoreFailureFailsTheCall() {
        val failing = object : TokenStore {
            override fun save(tokens: TokenPair) {
                throw TokenStoreException.Failed("disk full")
            }
        }
        CallbackClient.oauth(credentials(), options(), failing).use { client ->
            Portal.expireTokens()
            val e = expectError<CallbackException.AuthFailed>(ErrorCode.AUTH_FAILED) { client.linesBlocking() }
            assertTrue(e.description.contains("disk full"), e.description)
        }
    }

    @Test
    fun unexpectedExceptionInTheTokenStoreFailsTheCall() {
        val throwing = object : TokenStore {
            override fun save(tokens: TokenPair) {
                throw IllegalStateException("bug in the app")
            }
        }
        CallbackClient.oauth(credentials(), options(), throwing).use { client ->
            Portal.expireTokens()
            val e = expectError<CallbackException.AuthFailed>(ErrorCode.AUTH_FAILED) { client.linesBlocking() }
            // The exception's type is reported, its (app-controlled) message is not.
            assertTrue(e.description.contains("IllegalStateException"), e.description)
            assertFalse(e.description.contains("bug in the app"), e.description)
        }
    }

    @Test
    fun invalidCredentialsAreRefusedUpFront() {
        val bad = credentials().copy(clientId = "", clientEndpoint = "not a url")
        expectError<CallbackException.InvalidRequest>(ErrorCode.INVALID_REQUEST) {
            CallbackClient.oauth(bad)
        }
    }
}
