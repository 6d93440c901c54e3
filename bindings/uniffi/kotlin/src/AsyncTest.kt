// The suspend methods: they work from any coroutine, cancelling the coroutine cancels the call
// (a start still waiting for the limiter ends at once, nothing sent), no thread outlives a
// cancelled call, and waitForOutcome sleeps between its polls without holding a thread.
package bitrix24.callback.tests

import bitrix24.callback.CallbackException
import bitrix24.callback.FakePortalOptions
import bitrix24.callback.RateLimit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.Before
import java.time.Duration
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

class AsyncTest {
    @Before
    fun clean() {
        Portal.reset()
        assertTrue(eventually { threadsNamed(CALL_THREAD) == 0 }, "a call thread of an earlier test is still running")
    }

    @Test
    fun everySuspendMethodWorksFromOneThread() = runBlocking<Unit> {
        webhookClient().use { client ->
            val lines = async { client.lines() }
            val voices = async { client.voices() }
            val destination = async { client.checkCallback(request("+12015550123")) }
            assertTrue(lines.await().any { it.id == "reg1" })
            assertTrue(voices.await().isNotEmpty())
            assertEquals("+12015550123", destination.await().number)
            val started = client.startCallback(request())
            val record = assertNotNull(client.waitForOutcome(started.callId!!, Duration.ofSeconds(20)))
            assertEquals(record, client.callRecord(started.callId!!))
            val e = assertFailsWith<CallbackException.LineNotFound> { client.startCallback(request(line = "nosuchline")) }
            assertTrue(e.retrySafe)
        }
    }

    @Test
    fun aCancelledStartWaitingForTheLimiterEndsAtOnceWithNothingSentAndNoThreadLeft() = runBlocking<Unit> {
        // One call at once, then one every 20 s: the second start waits for the limiter. (Buckets
        // are shared process-wide per portal and bucket numbers: these numbers are this test's.)
        val opts = options(deadline = Duration.ofSeconds(40), rateLimit = RateLimit.Custom(1u, 0.0501))
        webhookClient(opts).use { client ->
            client.startCallback(request())
            val sent = Portal.requests().size
            val job = launch(Dispatchers.Default) { client.startCallback(request()) }
            assertTrue(eventually { threadsNamed(CALL_THREAD) == 1 }, "the waiting call runs on a thread of its own")
            delay(300)
            val began = System.nanoTime()
            withTimeout(5_000) { job.cancelAndJoin() }
            val tookMs = (System.nanoTime() - began) / 1_000_000
            assertTrue(tookMs < 1_000, "cancelAndJoin took $tookMs ms")
            // The call's thread saw its token cancelled and left the limiter: it is gone.
            assertTrue(eventually(2_000) { threadsNamed(CALL_THREAD) == 0 }, "the call's thread is still running")
            delay(500)
            assertEquals(sent, Portal.requests().size, "the cancelled call sent something")
            assertEquals(1, Portal.ledger().size)
        }
    }

    @Test
    fun aTimeoutIsACancellationToo() = runBlocking<Unit> {
        val opts = options(deadline = Duration.ofSeconds(40), rateLimit = RateLimit.Custom(1u, 0.0502))
        webhookClient(opts).use { client ->
            client.startCallback(request())
            assertNull(withTimeoutOrNull(300) { client.startCallback(request()) })
            assertTrue(eventually(2_000) { threadsNamed(CALL_THREAD) == 0 })
            assertEquals(1, Portal.ledger().size)
        }
    }

    @Test
    fun waitsSleepWithoutThreadsAndStopPollingWhenCancelled() = runBlocking<Unit> {
        // Twenty waits for calls that never end; no client-side pacing, a roomy portal bucket.
        Portal.update(FakePortalOptions(burst = 10_000u))
        try {
            webhookClient(options(rateLimit = RateLimit.Off)).use { client ->
                val waits = List(20) { i ->
                    async(Dispatchers.Default) {
                        client.waitForOutcome("callback.never-ending-$i", Duration.ofSeconds(60))
                    }
                }
                // Polls at 0 s, 0.5 s and 1.25 s; between 1.5 s and 2.1 s every wait sleeps.
                delay(1_500)
                val samples = List(6) {
                    delay(100)
                    threadsNamed(CALL_THREAD)
                }
                assertEquals(0, samples.min(), "threads held by sleeping waits: $samples")
                assertTrue(samples.max() < 20, "every wait held a thread: $samples")
                assertEquals(1, threadsNamed(TIMER_THREAD), "one timer thread for every wait")
                val polls = { Portal.requests().count { it.restMethod == "voximplant.statistic.get" } }
                assertTrue(polls() >= 40, "polls so far: ${polls()}")
                waits.forEach { it.cancel() }
                runCatching { waits.awaitAll() }
                assertTrue(eventually(2_000) { threadsNamed(CALL_THREAD) == 0 })
                val seen = polls()
                delay(2_500) // the next poll would have come at 2.4 s
                assertEquals(seen, polls(), "a cancelled wait polled again")
            }
        } finally {
            Portal.update(FakePortalOptions(burst = 50u))
        }
    }
}
