// The fake portal of these tests: the library's own FakePortal (the testing build of
// libcallback_uniffi, cargo feature `testing`), started in this process on first use, plus
// small helpers shared by the test classes.
package bitrix24.callback.tests

import bitrix24.callback.CallbackClient
import bitrix24.callback.CallbackException
import bitrix24.callback.CallbackRequest
import bitrix24.callback.ClientOptions
import bitrix24.callback.ErrorCode
import bitrix24.callback.FakeCall
import bitrix24.callback.FakeFault
import bitrix24.callback.FakeFaultKind
import bitrix24.callback.FakePortal
import bitrix24.callback.FakePortalOptions
import bitrix24.callback.FakeRequest
import bitrix24.callback.FakeStats
import bitrix24.callback.FakeTokens
import java.time.Duration
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.test.fail

object Portal {
    /** One portal for the whole run (simulated call stages of 200 ms). */
    val fake: FakePortal by lazy { FakePortal.start(FakePortalOptions(stageDuration = Duration.ofMillis(200))) }

    val baseUrl: String get() = fake.baseUrl()
    val webhookUrl: String get() = fake.webhookUrl()
    val clientEndpoint: String get() = fake.clientEndpoint()
    val serverEndpoint: String get() = fake.serverEndpoint()
    val oauthClientId: String get() = fake.oauthClientId()
    val oauthClientSecret: String get() = fake.oauthClientSecret()

    /** The secret part of the webhook address (must never show up in any error text). */
    val webhookSecret: String get() = fake.webhookSecret()

    /** Back to a clean portal: no calls, no faults, default counters (tokens and settings stay). */
    fun reset() = fake.reset()

    fun ledger(): List<FakeCall> = fake.ledger()

    fun stats(): FakeStats = fake.stats()

    fun requests(): List<FakeRequest> = fake.requests()

    fun fault(kind: FakeFaultKind, times: Int = 1, method: String? = "voximplant.callback.start") =
        fake.addFault(FakeFault(kind = kind, method = method, times = times.toUInt()))

    fun update(changes: FakePortalOptions) = fake.update(changes)

    fun issueTokens(): FakeTokens = fake.issueTokens()

    fun expireTokens() = fake.expireAccessTokens()
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

/** Threads of this process with this name (Linux: `/proc/self/task/<tid>/comm`). */
fun threadsNamed(name: String): Int =
    (java.io.File("/proc/self/task").listFiles() ?: emptyArray()).count { task ->
        runCatching { java.io.File(task, "comm").readText().trim() }.getOrNull() == name
    }

/** Polls [condition] every 20 ms for up to [millis]; true once it held. */
fun eventually(millis: Long = 5_000, condition: () -> Boolean): Boolean {
    val until = System.nanoTime() + millis * 1_000_000
    while (System.nanoTime() < until) {
        if (condition()) return true
        Thread.sleep(20)
    }
    return condition()
}

/** The name of the thread the library runs one call on, and of its one timer thread. */
const val CALL_THREAD = "b24cb-call"
const val TIMER_THREAD = "b24cb-timer"
