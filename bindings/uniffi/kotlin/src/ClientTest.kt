// The happy paths against the fake portal: a callback, dedupe, lines/voices, outcomes (the
// suspend methods and their blocking twins), one client shared by several threads,
// cancellation.
package bitrix24.callback.tests

import bitrix24.callback.CallOutcome
import bitrix24.callback.CallbackException
import bitrix24.callback.CancelToken
import bitrix24.callback.ErrorCode
import bitrix24.callback.RateLimit
import bitrix24.callback.maskNumber
import bitrix24.callback.version
import bitrix24.callback.FakeFaultKind
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Before
import java.time.Duration
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

class ClientTest {
    @Before
    fun clean() = Portal.reset()

    @Test
    fun startCallbackSucceeds() = runBlocking<Unit> {
        webhookClient().use { client ->
            val number = Numbers.fresh()
            val started = client.startCallback(request(number))
            val callId = assertNotNull(started.callId, "callId")
            assertTrue(callId.isNotBlank())
            assertFalse(started.deduplicated)
            assertTrue(started.timing.attempts >= 1u, "attempts")
            assertTrue(started.timing.total > Duration.ZERO, "total time")
            assertEquals(Portal.baseUrl.trimEnd('/'), client.portal().trimEnd('/'))

            val ledger = Portal.ledger()
            assertEquals(1, ledger.size, "calls placed")
            val placed = ledger[0]
            assertEquals(callId, placed.callId)
            assertEquals("reg1", placed.line)
            assertEquals(number, "+" + placed.number.trimStart('+'))
            assertFalse(placed.toString().contains(number.drop(4)), "number printed: $placed")

            // The library, the binding and the app's suffix, in the User-Agent.
            val agent = Portal.requests()
                .first { it.restMethod == "voximplant.callback.start" }
                .userAgent
            assertEquals("bitrix24-callback/${version()} (uniffi/${version()}) kotlin-tests", agent)
        }
    }

    @Test
    fun idempotencyKeyDeduplicates() {
        webhookClient().use { client ->
            val req = request(key = "form-submission-42")
            val first = client.startCallbackBlocking(req)
            val second = client.startCallbackBlocking(req)
            assertFalse(first.deduplicated)
            assertTrue(second.deduplicated)
            assertEquals(first.callId, second.callId)
            assertEquals(1, Portal.ledger().size, "the portal was called once")
        }
    }

    @Test
    fun linesAndVoices() = runBlocking<Unit> {
        webhookClient().use { client ->
            val lines = client.lines()
            val ids = lines.map { it.id }
            assertTrue("reg1" in ids && "sip7" in ids, "lines: $ids")
            assertEquals(ids.sorted(), ids, "sorted by id")
            val sip7 = lines.first { it.id == "sip7" }
            assertFalse(sip7.name.contains("&amp;") || sip7.name.contains("&lt;"), "decoded: ${sip7.name}")
            val voices = client.voices()
            assertTrue(voices.isNotEmpty())
            assertTrue(voices.any { it.id == "ruinternalfemale" }, "voices: ${voices.map { it.id }}")
        }
    }

    @Test
    fun restAppLineHasNoCallId() {
        webhookClient().use { client ->
            val started = client.startCallbackBlocking(request(line = "REST_APP:1"))
            assertNull(started.callId)
            assertEquals(1, Portal.ledger().size)
        }
    }

    @Test
    fun outcomesOfFinishedCalls() = runBlocking<Unit> {
        webhookClient().use { client ->
            val answered = client.startCallback(request())
            val busy = client.startCallback(request("+12015550101"))
            val a = assertNotNull(client.waitForOutcome(answered.callId!!, Duration.ofSeconds(20)))
            assertEquals(CallOutcome.ANSWERED, a.outcome)
            assertEquals("200", a.failedCode)
            assertEquals("answered", a.outcome.asStr())
            val b = assertNotNull(client.waitForOutcome(busy.callId!!, Duration.ofSeconds(20)))
            assertEquals(CallOutcome.BUSY, b.outcome)
            assertEquals("486", b.failedCode)
            assertEquals(b, client.callRecord(busy.callId!!))
            b.maskedNumber?.let { assertFalse(it.contains("5550101"), "masked: $it") }
            assertNull(client.callRecord("no-such-call-id"))
            // The blocking twins answer the same.
            assertEquals(b, client.callRecordBlocking(busy.callId!!))
            assertEquals(b, client.waitForOutcomeBlocking(busy.callId!!, Duration.ofSeconds(5)))
        }
    }

    @Test
    fun oneClientSharedByEightThreads() {
        val threads = 8
        val perThread = 4
        webhookClient().use { client ->
            val pool = Executors.newFixedThreadPool(threads)
            val gate = CountDownLatch(1)
            val callIds = Collections.synchronizedList(ArrayList<String>())
            val errors = Collections.synchronizedList(ArrayList<Throwable>())
            val numbers = List(threads * perThread) { Numbers.fresh() }
            repeat(threads) { t ->
                pool.execute {
                    gate.await()
                    repeat(perThread) { i ->
                        try {
                            val started = client.startCallbackBlocking(request(numbers[t * perThread + i]))
                            callIds += started.callId!!
                        } catch (e: Throwable) {
                            errors += e
                        }
                    }
                }
            }
            gate.countDown()
            pool.shutdown()
            assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS), "threads finished")
            assertTrue(errors.isEmpty(), "errors: $errors")
            assertEquals(threads * perThread, callIds.toSet().size, "distinct call ids")
            assertEquals(threads * perThread, Portal.ledger().size, "calls placed")
        }
    }

    @Test
    fun suspendingCallsLeaveTheCallersThreadFree() = runBlocking<Unit> {
        // runBlocking has one thread: it keeps ticking while the portal is slow, because the
        // blocking call runs on a thread of the library's own.
        Portal.fault(FakeFaultKind.Delay(Duration.ofMillis(800)))
        webhookClient().use { client ->
            val call = async { client.startCallback(request()) }
            var ticks = 0
            while (!call.isCompleted) {
                delay(50)
                ticks++
            }
            assertNotNull(call.await().callId)
            assertTrue(ticks >= 5, "the caller's thread was blocked (ticks: $ticks)")
        }
    }

    @Test
    fun cancellingTheCoroutineCancelsTheWaitingCall() = runBlocking<Unit> {
        // Buckets are shared process-wide per portal and numbers: these numbers are this test's.
        val opts = options(deadline = Duration.ofSeconds(30), rateLimit = RateLimit.Custom(1u, 0.04))
        webhookClient(opts).use { client ->
            assertNotNull(client.startCallback(request()).callId)
            val began = System.nanoTime()
            val job = launch { client.startCallback(request()) }
            delay(300)
            withTimeout(10_000) { job.cancelAndJoin() }
            assertTrue(job.isCancelled)
            assertTrue((System.nanoTime() - began) < 10_000_000_000, "cancelled promptly")
            assertEquals(1, Portal.ledger().size, "the cancelled call was not sent")
        }
    }

    @Test
    fun cancelWhileWaitingForTheLimiter() {
        // One token, refilled every 20 s: the second call has to wait for the limiter.
        val opts = options(deadline = Duration.ofSeconds(30), rateLimit = RateLimit.Custom(1u, 0.05))
        webhookClient(opts).use { client ->
            client.startCallbackBlocking(request())
            val token = CancelToken()
            val canceller = Thread {
                Thread.sleep(300)
                token.cancel()
            }
            canceller.start()
            val began = System.nanoTime()
            val e = expectError<CallbackException.RateLimited>(ErrorCode.RATE_LIMITED) {
                client.startCallbackBlocking(request(), token)
            }
            canceller.join()
            assertTrue(token.isCancelled())
            assertTrue(e.retrySafe)
            assertTrue((System.nanoTime() - began) < 10_000_000_000, "gave up promptly")
            assertEquals(1, Portal.ledger().size, "the cancelled call was not sent")
        }
    }

    @Test
    fun helpers() {
        assertTrue(version().isNotBlank())
        val masked = maskNumber("+12015550123")
        assertEquals("+120******23", masked)
        assertFalse(masked.contains("5550"), masked)
    }
}
