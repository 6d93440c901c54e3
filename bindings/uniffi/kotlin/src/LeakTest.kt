// Leaks: with a known webhook secret, OAuth tokens, client secret, application token and full
// numbers in play, every error path (each fault, each refusal, refresh failures, a throwing
// TokenStore, event verification failures) is driven, and no error text, toString() or stack
// trace of any error or record shows any of them.
package bitrix24.callback.tests

import bitrix24.callback.CallbackClient
import bitrix24.callback.CallbackException
import bitrix24.callback.CallbackRequest
import bitrix24.callback.ClientOptions
import bitrix24.callback.DestinationPolicy
import bitrix24.callback.FakeFault
import bitrix24.callback.FakeFaultKind
import bitrix24.callback.FakePortalOptions
import bitrix24.callback.OAuthCredentials
import bitrix24.callback.TokenPair
import bitrix24.callback.TokenStore
import bitrix24.callback.TokenStoreException
import bitrix24.callback.parseEvent
import bitrix24.callback.validateRequest
import bitrix24.callback.RateLimit
import org.junit.After
import org.junit.Before
import java.time.Duration
import java.util.Collections
import kotlin.test.Test
import kotlin.test.assertTrue
import kotlin.test.fail

class LeakTest {
    /** Everything that must never be shown, and where each text came from. */
    private val secrets = Collections.synchronizedSet(LinkedHashSet<String>())
    private val texts = Collections.synchronizedList(ArrayList<Pair<String, String>>())
    private var errors = 0

    @Before
    fun clean() {
        Portal.reset()
        // Many requests per test: no pacing on either side (the pacing errors come from faults).
        Portal.update(FakePortalOptions(burst = 10_000u))
        secrets += Portal.webhookSecret
        secrets += Portal.oauthClientSecret
    }

    @After
    fun restore() = Portal.update(FakePortalOptions(burst = 50u))

    private fun options(
        deadline: Duration = Duration.ofSeconds(10),
        policy: DestinationPolicy? = null,
    ): ClientOptions = bitrix24.callback.tests.options(deadline = deadline, rateLimit = RateLimit.Off, policy = policy)

    /** A fresh number; its national digits join the secrets. */
    private fun number(): String = Numbers.fresh().also { secrets += it.removePrefix("+1") }

    private fun seen(where: String, value: Any?) {
        texts += where to value.toString()
    }

    private fun seenError(where: String, e: CallbackException) {
        errors++
        val d = e.details()
        seen("$where: message", e.message)
        seen("$where: toString", e)
        seen("$where: details", d)
        seen("$where: violations", d.violations)
        seen("$where: stack trace", e.stackTraceToString())
    }

    /** Runs [block]; its error (or its result) goes into the texts checked at the end. */
    private fun drive(where: String, block: () -> Any?) {
        try {
            seen("$where: result", block())
        } catch (e: CallbackException) {
            seenError(where, e)
        }
    }

    private fun assertNoLeaks() {
        assertTrue(errors > 0)
        val found = texts.flatMap { (where, text) -> secrets.filter { it.isNotEmpty() && text.contains(it) }.map { where to it } }
        if (found.isNotEmpty()) {
            fail("secrets shown in ${found.size} texts, e.g. ${found.take(5).map { (w, s) -> "$w shows ${s.take(4)}..." }}")
        }
    }

    private fun faults(path: String): List<FakeFaultKind> = listOf(
        FakeFaultKind.Delay(Duration.ofSeconds(3)),
        FakeFaultKind.CloseBeforeExecute,
        FakeFaultKind.CloseAfterExecute,
        FakeFaultKind.Html502,
        FakeFaultKind.Html504,
        FakeFaultKind.TruncatedJson,
        FakeFaultKind.Overload,
        FakeFaultKind.QueryLimit,
        FakeFaultKind.OperationTimeLimit,
        // Portals and proxies that echo what they were sent: the path holds the webhook secret
        // and the query the OAuth token.
        FakeFaultKind.Respond(400u, """{"error":"ERROR_X","error_description":"bad request $path"}""", null, false),
        FakeFaultKind.Respond(500u, "<html>upstream failed for $path</html>", "text/html", false),
        FakeFaultKind.Respond(200u, """{"result":{"RESULT":true},"error":"HALF $path"}""", null, true),
        FakeFaultKind.Respond(401u, """{"error":"expired_token","error_description":"token of $path expired"}""", null, false),
        FakeFaultKind.Redirect(302u, "http://elsewhere.invalid{path}", false),
        FakeFaultKind.Redirect(303u, "{scheme}://127.0.0.1:{port}{path}", true),
        FakeFaultKind.Rename,
    )

    @Test
    fun everyFaultOfAWebhookClient() {
        val opts = options(deadline = Duration.ofSeconds(1)).copy(timeout = Duration.ofMillis(500))
        webhookClient(opts).use { client ->
            for (kind in faults("{path}")) {
                Portal.fake.clearFaults()
                Portal.fault(kind, times = 100, method = null)
                val n = number()
                drive("start with $kind") { client.startCallbackBlocking(request(n, key = "leak-${n.takeLast(4)}")) }
                drive("lines with $kind") { client.linesBlocking() }
            }
            Portal.fake.clearFaults()
        }
        assertNoLeaks()
    }

    private class Recorder(private val secrets: MutableSet<String>) : TokenStore {
        override fun save(tokens: TokenPair) {
            secrets += tokens.accessToken
            secrets += tokens.refreshToken
        }
    }

    private fun credentials(): OAuthCredentials = Portal.fake.issueOauthCredentials().also {
        secrets += it.accessToken
        secrets += it.refreshToken
        seen("credentials", it)
    }

    @Test
    fun everyFaultOfAnOAuthClientAndEveryRefreshFailure() {
        val opts = options(deadline = Duration.ofSeconds(1)).copy(timeout = Duration.ofMillis(500))
        CallbackClient.oauth(credentials(), opts, Recorder(secrets)).use { client ->
            for (kind in faults("{path}")) {
                Portal.fake.clearFaults()
                Portal.fault(kind, times = 100, method = null)
                drive("oauth start with $kind") { client.startCallbackBlocking(request(number())) }
                drive("oauth lines with $kind") { client.linesBlocking() }
            }
            // Refresh failures: the token endpoint failing in every way, then answering nonsense.
            for (kind in faults("{path}")) {
                Portal.fake.clearFaults()
                Portal.fake.expireAccessTokens()
                Portal.fault(kind, times = 100, method = "oauth.token")
                drive("refresh with $kind") { client.linesBlocking() }
            }
            Portal.fake.clearFaults()
        }
        // A refresh token used up by another client: invalid_grant.
        val creds = credentials()
        CallbackClient.oauth(creds, options(), Recorder(secrets)).use { first ->
            Portal.expireTokens()
            first.linesBlocking()
        }
        CallbackClient.oauth(creds, options()).use { second ->
            drive("a used refresh token") { second.linesBlocking() }
        }
        // A wrong client secret.
        CallbackClient.oauth(credentials().copy(clientSecret = "wrongclientsecret77"), options()).use { client ->
            secrets += "wrongclientsecret77"
            Portal.expireTokens()
            drive("a wrong client secret") { client.linesBlocking() }
        }
        assertNoLeaks()
    }

    @Test
    fun aThrowingTokenStore() {
        val failing = object : TokenStore {
            override fun save(tokens: TokenPair) {
                secrets += tokens.accessToken
                secrets += tokens.refreshToken
                throw TokenStoreException.Failed("the keychain is locked")
            }
        }
        val buggy = object : TokenStore {
            override fun save(tokens: TokenPair) {
                secrets += tokens.accessToken
                secrets += tokens.refreshToken
                // An app that puts the token into its own exception: only the type is kept.
                throw IllegalStateException("cannot store ${tokens.accessToken} / ${tokens.refreshToken}")
            }
        }
        for ((name, store) in listOf("failing" to failing, "buggy" to buggy)) {
            CallbackClient.oauth(credentials(), options(), store).use { client ->
                Portal.expireTokens()
                drive("$name store, start") { client.startCallbackBlocking(request(number())) }
                Portal.expireTokens()
                drive("$name store, lines") { client.linesBlocking() }
            }
        }
        assertNoLeaks()
    }

    @Test
    fun everyRefusal() {
        val policy = DestinationPolicy(
            blockedPrefixes = listOf("+1212"),
            blockedRegions = listOf("CA"),
            numberHourlyCap = 1u,
        )
        webhookClient(options(policy = policy)).use { client ->
            val refused = listOf(
                "+39 0878 123 45", // premium rate
                "+1 212 555 0142", // blocked prefix
                "+1 613 555 0142", // blocked region
                "+1 876 555 0142", // high-risk region
                "+882 1234 5678 90", // international network
                "+1201555012345678", // too long
                "+1 201 555 01", // too short
                "12015550142", // no + and no default region
            )
            for (n in refused) {
                n.filter { it.isDigit() }.takeIf { it.length >= 9 }?.let { secrets += it.drop(3) }
                drive("refusal of ${n.take(4)}") { client.startCallbackBlocking(request(n)) }
                drive("check of ${n.take(4)}") { client.checkCallbackBlocking(request(n)) }
                drive("validation of ${n.take(4)}") { validateRequest(request(n)) }
            }
            // Cooldown and hourly cap, then an idempotency key reused for another number.
            val n = number()
            drive("first call") { client.startCallbackBlocking(request(n, key = "leak-key-1")) }
            drive("cooldown") { client.startCallbackBlocking(request(n)) }
            drive("key reused") { client.startCallbackBlocking(request(number(), key = "leak-key-1")) }
            drive("bad request") { client.startCallbackBlocking(CallbackRequest(fromLine = "", toNumber = number(), text = "")) }
        }
        webhookClient(options(policy = DestinationPolicy(numberCooldown = Duration.ZERO, numberHourlyCap = 1u))).use { client ->
            val n = number()
            drive("cap, first") { client.startCallbackBlocking(request(n)) }
            drive("cap") { client.startCallbackBlocking(request(n)) }
        }
        // Bad options, a bad webhook address, a shared state with a password.
        secrets += "redispassword99"
        drive("bad options") {
            CallbackClient.webhook(Portal.webhookUrl, ClientOptions(timeout = Duration.ZERO, defaultRegion = "XX"))
        }
        drive("bad webhook") { CallbackClient.webhook("http://example.com/rest/1/${Portal.webhookSecret}/") }
        val shared = options().copy(sharedState = "redis://:redispassword99@127.0.0.1:1/0")
        seen("shared options", shared)
        webhookClient(shared).use { client ->
            drive("shared state down") { client.startCallbackBlocking(request(number(), key = "leak-shared")) }
        }
        assertNoLeaks()
    }

    @Test
    fun everyEventFailure() {
        val appToken = "leakapplicationtoken0042"
        secrets += appToken
        Portal.update(FakePortalOptions(eventHandler = "http://127.0.0.1:1/events", applicationToken = appToken))
        try {
            webhookClient().use { client ->
                val n = number()
                val started = client.startCallbackBlocking(request(n))
                seen("started", started)
                assertTrue(eventually(10_000) { Portal.fake.events().any { it.event == "ONVOXIMPLANTCALLEND" } })
                for (event in Portal.fake.events()) {
                    seen("fake event", event)
                    val body = event.body.toByteArray()
                    seen("parsed event", parseEvent(body, appToken))
                    drive("wrong token") { parseEvent(body, "another-token") }
                    drive("empty token") { parseEvent(body, "") }
                    drive("truncated body") { parseEvent(body.copyOf(body.size / 2), appToken) }
                    drive("garbage body") { parseEvent("%%%$appToken&&&==$n".toByteArray(), appToken) }
                }
                seen("record", client.waitForOutcomeBlocking(started.callId!!, Duration.ofSeconds(10)))
            }
        } finally {
            Portal.update(FakePortalOptions(eventHandler = "", applicationToken = "fakeapplicationtoken0001"))
        }
        assertNoLeaks()
    }

    @Test
    fun everyRecordPrintsRedacted() {
        val creds = credentials()
        val n = number()
        seen("request", request(n))
        seen("validated", validateRequest(request(n)))
        webhookClient().use { client ->
            seen("destination", client.checkCallbackBlocking(request(n)))
            val started = client.startCallbackBlocking(request(n))
            seen("started", started)
            seen("record", client.waitForOutcomeBlocking(started.callId!!, Duration.ofSeconds(10)))
            seen("call state", Portal.fake.call(started.callId!!))
        }
        seen("pair", TokenPair(creds.accessToken, creds.refreshToken, 3600u, null, null, null))
        seen("fake tokens", Portal.issueTokens().also { secrets += it.accessToken; secrets += it.refreshToken })
        seen("fake calls", Portal.ledger())
        seen("fake requests", Portal.requests())
        seen("fake options", FakePortalOptions(webhookSecret = Portal.webhookSecret, oauthClientSecret = Portal.oauthClientSecret))
        errors++ // this test checks records only
        assertNoLeaks()
    }
}
