// The fake portal started by test-kotlin.sh: its addresses (B24_FAKE_PORTAL_JSON) and its
// admin endpoint, plus small helpers shared by the test classes.
package bitrix24.callback.tests

import bitrix24.callback.CallbackClient
import bitrix24.callback.CallbackException
import bitrix24.callback.CallbackRequest
import bitrix24.callback.ClientOptions
import bitrix24.callback.ErrorCode
import org.json.JSONArray
import org.json.JSONObject
import java.net.HttpURLConnection
import java.net.URI
import java.time.Duration
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.test.fail

object Portal {
    private val info: JSONObject = JSONObject(
        System.getenv("B24_FAKE_PORTAL_JSON")
            ?: error("B24_FAKE_PORTAL_JSON is not set: run bindings/uniffi/test-kotlin.sh"),
    )
    val baseUrl: String = info.getString("base_url")
    val webhookUrl: String = info.getString("webhook_url")
    val clientEndpoint: String = info.getString("client_endpoint")
    val serverEndpoint: String = info.getString("server_endpoint")
    val oauthClientId: String = info.getString("oauth_client_id")
    val oauthClientSecret: String = info.getString("oauth_client_secret")
    private val adminUrl: String = info.getString("admin_url").trimEnd('/') + "/"

    /** The secret part of the webhook address (must never show up in any error text). */
    val webhookSecret: String = webhookUrl.trimEnd('/').substringAfterLast('/')

    fun admin(method: String, path: String, body: JSONObject? = null): String {
        val conn = URI(adminUrl + path).toURL().openConnection() as HttpURLConnection
        conn.requestMethod = method
        conn.connectTimeout = 5_000
        conn.readTimeout = 10_000
        if (body != null) {
            conn.doOutput = true
            conn.setRequestProperty("Content-Type", "application/json")
            conn.outputStream.use { it.write(body.toString().toByteArray()) }
        }
        val status = conn.responseCode
        val text = (if (status < 400) conn.inputStream else conn.errorStream)
            ?.use { it.readBytes().decodeToString() } ?: ""
        check(status in 200..299) { "admin $method $path -> $status $text" }
        return text
    }

    /** Back to a clean portal: no calls, no faults, default counters (tokens survive). */
    fun reset() {
        admin("POST", "reset")
        admin("DELETE", "faults")
    }

    fun ledger(): JSONArray = JSONObject(admin("GET", "ledger")).getJSONArray("calls")

    fun stats(): JSONObject = JSONObject(admin("GET", "stats"))

    fun requests(): JSONArray {
        val text = admin("GET", "requests").trim()
        return if (text.startsWith("[")) JSONArray(text) else JSONObject(text).getJSONArray("requests")
    }

    fun fault(kind: String, times: Int = 1, method: String? = "voximplant.callback.start", delayMs: Int = 0) {
        val body = JSONObject().put("kind", kind).put("times", times).put("delay_ms", delayMs)
        if (method != null) body.put("method", method)
        admin("POST", "faults", body)
    }

    fun config(changes: JSONObject) {
        admin("POST", "config", changes)
    }

    fun issueTokens(): JSONObject = JSONObject(admin("POST", "oauth/tokens"))

    fun expireTokens() {
        admin("POST", "oauth/expire")
    }
}

/**
 * Fresh destination numbers, so the per-number cooldown never interferes: the NANP fictional
 * block 555-0100..0199 of area codes other than 201 (whose 555-0101..0106 are the fake portal's
 * magic numbers), valid for libphonenumber and answered by the fake portal.
 */
object Numbers {
    private val areas = intArrayOf(202, 212, 213, 312, 415, 617, 646, 718, 917)
    private val next = AtomicInteger(0)
    fun fresh(): String {
        val n = next.getAndIncrement()
        check(n < areas.size * 100) { "out of test numbers" }
        return "+1%d55501%02d".format(areas[n / 100], n % 100)
    }
}

fun options(
    deadline: Duration = Duration.ofSeconds(10),
    rateLimit: bitrix24.callback.RateLimit? = null,
    policy: bitrix24.callback.DestinationPolicy? = null,
) = ClientOptions(
    timeout = Duration.ofSeconds(5),
    deadline = deadline,
    rateLimit = rateLimit,
    userAgentSuffix = "kotlin-tests",
    destinationPolicy = policy,
)

fun webhookClient(options: ClientOptions = options()): CallbackClient =
    CallbackClient.webhook(Portal.webhookUrl, options)

fun request(number: String = Numbers.fresh(), line: String = "reg1", key: String? = null) =
    CallbackRequest(
        fromLine = line,
        toNumber = number,
        text = "A visitor asked for a call back",
        voice = "ruinternalfemale",
        idempotencyKey = key,
    )

/**
 * Runs [block], expects a [CallbackException] of type [T] with [code], and checks the fields
 * every error carries (retrySafe matches the code, details() agrees, no secret in the text).
 */
inline fun <reified T : CallbackException> expectError(code: ErrorCode, block: () -> Unit): T {
    try {
        block()
    } catch (e: CallbackException) {
        assertTrue(e is T, "expected ${T::class.simpleName}, got ${e::class.simpleName}: ${e.message}")
        val d = e.details()
        assertEquals(code, d.code, "code")
        assertEquals(code.retrySafe(), d.retrySafe, "retrySafe of $code")
        assertTrue(d.description.isNotBlank(), "description is empty")
        val text = "${e.message} $e ${d.description}"
        assertTrue(!text.contains(Portal.webhookSecret), "the webhook secret leaked: $text")
        return e
    }
    fail("expected ${T::class.simpleName} ($code), but nothing was thrown")
}
