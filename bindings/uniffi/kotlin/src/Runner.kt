// Runs every test class with JUnit 4 and prints one summary line CI logs can grep:
// "kotlin: N passed, N failed". The exit code is non-zero on any failure (or no tests).
package bitrix24.callback.tests

import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import kotlin.system.exitProcess

private class Printer : RunListener() {
    private val started = HashMap<Description, Long>()
    private val failed = HashSet<Description>()

    override fun testStarted(d: Description) {
        started[d] = System.nanoTime()
    }

    override fun testFailure(f: Failure) {
        failed += f.description
        println("FAIL ${f.description.className.substringAfterLast('.')}.${f.description.methodName}")
        println(f.trace.lineSequence().take(25).joinToString("\n") { "    $it" })
    }

    override fun testFinished(d: Description) {
        if (d in failed) return
        val ms = (System.nanoTime() - (started[d] ?: System.nanoTime())) / 1_000_000
        println("ok   ${d.className.substringAfterLast('.')}.${d.methodName} ($ms ms)")
    }
}

fun main() {
    val core = JUnitCore()
    core.addListener(Printer())
    val result = core.run(
        VectorsTest::class.java,
        ClientTest::class.java,
        CheckTest::class.java,
        ErrorTest::class.java,
        OAuthTest::class.java,
        EventsTest::class.java,
        SharedStateTest::class.java,
        AsyncTest::class.java,
        FromEnvTest::class.java,
        PanicTest::class.java,
        FakePortalTest::class.java,
        LeakTest::class.java,
    )
    val failed = result.failureCount
    val passed = result.runCount - failed
    println("kotlin: $passed passed, $failed failed (${result.runTime} ms)")
    exitProcess(if (failed == 0 && result.runCount > 0) 0 else 1)
}
