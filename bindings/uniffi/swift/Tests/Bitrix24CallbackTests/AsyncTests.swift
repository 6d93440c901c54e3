// The async methods: they work from any task, cancelling the task cancels the call (a start
// still waiting for the limiter ends at once, nothing sent), no thread outlives a cancelled
// call, and waitForOutcome sleeps between its polls without holding a thread.
import Bitrix24Callback
import Foundation
import XCTest

final class AsyncTests: PortalTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertTrue(eventually { threadsNamed(callThread) == 0 }, "a call thread of an earlier test is still running")
    }

    func testEveryAsyncMethodWorks() async throws {
        let client = try webhookClient()
        async let lines = client.lines()
        async let voices = client.voices()
        async let destination = client.checkCallback(request: request(Magic.demo))
        let (l, v, d) = try await (lines, voices, destination)
        XCTAssertTrue(l.contains { $0.id == "reg1" })
        XCTAssertFalse(v.isEmpty)
        XCTAssertEqual(d.number, Magic.demo)
        let started = try await client.startCallback(request: request())
        let callId = try XCTUnwrap(started.callId)
        let waited = try await client.waitForOutcome(callId: callId, timeout: 20)
        let record = try XCTUnwrap(waited, "record")
        let again = try await client.callRecord(callId: callId)
        XCTAssertEqual(again, record)
        do {
            _ = try await client.startCallback(request: request(line: "nosuchline"))
            XCTFail("a start from an unknown line succeeded")
        } catch CallbackError.LineNotFound {
        }
    }

    func testACancelledStartWaitingForTheLimiterEndsAtOnceWithNothingSentAndNoThreadLeft() async throws {
        // One call at once, then one every 20 s: the second start waits for the limiter. (Buckets
        // are shared process-wide per portal and bucket numbers: these numbers are this test's.)
        let client = try webhookClient(options(deadline: 40, rateLimit: .custom(burst: 1, perSecond: 0.0501)))
        _ = try await client.startCallback(request: request())
        let sent = try Portal.requests().count
        let req = request()
        let task = Task { try await client.startCallback(request: req) }
        XCTAssertTrue(eventually { threadsNamed(callThread) == 1 }, "the waiting call runs on a thread of its own")
        try await Task.sleep(nanoseconds: 300_000_000)
        let began = Date()
        task.cancel()
        let result = await task.result
        XCTAssertLessThan(Date().timeIntervalSince(began), 1, "cancelled promptly")
        switch result {
        case .success: XCTFail("the cancelled call succeeded")
        case .failure(let error): XCTAssertTrue(error is CancellationError, "got \(error)")
        }
        // The call's thread saw its token cancelled and left the limiter: it is gone.
        XCTAssertTrue(eventually(2) { threadsNamed(callThread) == 0 }, "the call's thread is still running")
        try await Task.sleep(nanoseconds: 500_000_000)
        XCTAssertEqual(try Portal.requests().count, sent, "the cancelled call sent something")
        XCTAssertEqual(try Portal.ledger().count, 1)
    }

    func testAnExplicitTokenCancelsToo() async throws {
        let client = try webhookClient(options(deadline: 40, rateLimit: .custom(burst: 1, perSecond: 0.0502)))
        _ = try await client.startCallback(request: request())
        let token = CancelToken()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { token.cancel() }
        let began = Date()
        do {
            _ = try await client.startCallback(request: request(), cancel: token)
            XCTFail("the cancelled call succeeded")
        } catch let error as CallbackError {
            let d = error.details()
            XCTAssertEqual(d.code, .rateLimited)
            XCTAssertTrue(d.description.contains("nothing was sent"), d.description)
        }
        XCTAssertLessThan(Date().timeIntervalSince(began), 2)
        XCTAssertEqual(try Portal.ledger().count, 1)
    }

    func testWaitsSleepWithoutThreadsAndStopPollingWhenCancelled() async throws {
        // Twenty waits for calls that never end; no client-side pacing, a roomy portal bucket.
        try Portal.update(FakePortalOptions(burst: 10_000))
        defer { try? Portal.update(FakePortalOptions(burst: 50)) }
        let client = try webhookClient(options(rateLimit: .off))
        let waits = (0..<20).map { i in
            Task { try await client.waitForOutcome(callId: "callback.never-ending-\(i)", timeout: 60) }
        }
        // Polls at 0 s, 0.5 s and 1.25 s; between 1.5 s and 2.1 s every wait sleeps.
        try await Task.sleep(nanoseconds: 1_500_000_000)
        var samples: [Int] = []
        for _ in 0..<6 {
            try await Task.sleep(nanoseconds: 100_000_000)
            samples.append(threadsNamed(callThread))
        }
        XCTAssertEqual(samples.min(), 0, "threads held by sleeping waits: \(samples)")
        XCTAssertLessThan(samples.max() ?? 0, 20, "every wait held a thread: \(samples)")
        XCTAssertEqual(threadsNamed(timerThread), 1, "one timer thread for every wait")
        let polls = { try Portal.requests().filter { $0.restMethod == "voximplant.statistic.get" }.count }
        XCTAssertGreaterThanOrEqual(try polls(), 40)
        for wait in waits { wait.cancel() }
        for wait in waits {
            if case .success = await wait.result { XCTFail("a cancelled wait returned") }
        }
        XCTAssertTrue(eventually(2) { threadsNamed(callThread) == 0 })
        let seen = try polls()
        try await Task.sleep(nanoseconds: 2_500_000_000) // the next poll would have come at 2.4 s
        XCTAssertEqual(try polls(), seen, "a cancelled wait polled again")
    }
}
