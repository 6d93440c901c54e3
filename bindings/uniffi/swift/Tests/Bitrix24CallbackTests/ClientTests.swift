// The happy paths: a callback, dedupe, lines/voices, outcomes (async and blocking), one client
// shared by several threads, an async call, cancellation.
import Bitrix24Callback
import Dispatch
import Foundation
import XCTest

final class ClientTests: PortalTestCase {
    func testStartCallbackSucceeds() throws {
        let client = try webhookClient()
        let number = Numbers.fresh()
        let started = try client.startCallbackBlocking(request: request(number))
        let callId = try XCTUnwrap(started.callId, "callId")
        XCTAssertFalse(callId.isEmpty)
        XCTAssertFalse(started.deduplicated)
        XCTAssertTrue(started.timing.attempts >= 1, "attempts")
        XCTAssertTrue(started.timing.total > 0, "total time")
        XCTAssertEqual(client.portal().trimmingCharacters(in: ["/"]), Portal.baseUrl.trimmingCharacters(in: ["/"]))

        let ledger = try Portal.ledger()
        XCTAssertEqual(ledger.count, 1, "calls placed")
        let entry = try XCTUnwrap(ledger.first, "ledger entry")
        XCTAssertEqual(entry.callId, callId, "ledger call_id")
        XCTAssertEqual(entry.line, "reg1", "ledger line")
        XCTAssertEqual("+" + entry.number.trimmingCharacters(in: ["+"]), number, "ledger number")
        XCTAssertFalse("\(entry)".contains(number.dropFirst(4)), "number printed: \(entry)")

        let agent = try Portal.requests()
            .first { $0.restMethod == "voximplant.callback.start" }?.userAgent ?? ""
        XCTAssertEqual(agent, "bitrix24-callback/\(version()) (uniffi/\(version())) swift-tests", "user agent")
    }

    func testIdempotencyKeyDeduplicates() throws {
        let client = try webhookClient()
        let req = request(key: "form-submission-42")
        let first = try client.startCallbackBlocking(request: req)
        let second = try client.startCallbackBlocking(request: req)
        XCTAssertFalse(first.deduplicated)
        XCTAssertTrue(second.deduplicated)
        XCTAssertEqual(second.callId, first.callId, "callId")
        XCTAssertEqual(try Portal.ledger().count, 1, "the portal was called once")
    }

    func testLinesAndVoices() async throws {
        let client = try webhookClient()
        let lines = try await client.lines()
        let ids = lines.map(\.id)
        XCTAssertTrue(ids.contains("reg1") && ids.contains("sip7"), "lines: \(ids)")
        XCTAssertEqual(ids, ids.sorted(), "sorted by id")
        let sip7 = try XCTUnwrap(lines.first { $0.id == "sip7" }, "sip7")
        XCTAssertTrue(!sip7.name.contains("&amp;") && !sip7.name.contains("&lt;"), "decoded: \(sip7.name)")
        let voices = try await client.voices()
        XCTAssertTrue(voices.contains { $0.id == "ruinternalfemale" }, "voices: \(voices.map(\.id))")
    }

    func testRestAppLineHasNoCallId() throws {
        let started = try webhookClient().startCallbackBlocking(request: request(line: "REST_APP:1"))
        XCTAssertEqual(started.callId, nil, "callId")
        XCTAssertEqual(try Portal.ledger().count, 1, "calls placed")
    }

    func testOutcomesOfFinishedCalls() async throws {
        let client = try webhookClient()
        let answered = try await client.startCallback(request: request())
        let busy = try await client.startCallback(request: request(Magic.busy))
        let answeredId = try XCTUnwrap(answered.callId, "callId")
        let waited = try await client.waitForOutcome(callId: answeredId, timeout: 20)
        let a = try XCTUnwrap(waited, "record")
        XCTAssertEqual(a.outcome, .answered, "outcome")
        XCTAssertEqual(a.failedCode, "200", "failedCode")
        XCTAssertEqual(a.outcome.asStr(), "answered", "asStr")
        let busyId = try XCTUnwrap(busy.callId, "callId")
        let waitedBusy = try await client.waitForOutcome(callId: busyId, timeout: 20)
        let b = try XCTUnwrap(waitedBusy, "record")
        XCTAssertEqual(b.outcome, .busy, "outcome")
        XCTAssertEqual(b.failedCode, "486", "failedCode")
        let record = try await client.callRecord(callId: busyId)
        XCTAssertEqual(record, b, "callRecord")
        XCTAssertEqual(try client.callRecordBlocking(callId: busyId), b, "callRecordBlocking")
        XCTAssertEqual(try client.waitForOutcomeBlocking(callId: busyId, timeout: 5), b, "waitForOutcomeBlocking")
        if let masked = b.maskedNumber { XCTAssertFalse(masked.contains("5550101"), "masked: \(masked)") }
        XCTAssertEqual(try client.callRecordBlocking(callId: "no-such-call-id"), nil, "unknown call")
    }

    func testOneClientSharedByEightThreads() throws {
        let threads = 8
        let perThread = 4
        let client = try webhookClient()
        let numbers = (0..<threads * perThread).map { _ in Numbers.fresh() }
        let lock = NSLock()
        nonisolated(unsafe) var callIds: [String] = []
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                do {
                    let started = try client.startCallbackBlocking(request: request(numbers[t * perThread + i]))
                    lock.lock(); callIds.append(started.callId ?? ""); lock.unlock()
                } catch {
                    lock.lock(); errors.append("\(error)"); lock.unlock()
                }
            }
        }
        XCTAssertTrue(errors.isEmpty, "errors: \(errors)")
        XCTAssertEqual(Set(callIds).count, threads * perThread, "distinct call ids")
        XCTAssertEqual(try Portal.ledger().count, threads * perThread, "calls placed")
    }

    /// The async method runs the blocking call on a thread of the library's own: the task's
    /// executor and the calling thread stay free (it keeps ticking during a slow portal answer).
    func testAnAsyncCallLeavesTheCallerFree() throws {
        try Portal.fault(.delay(duration: 0.8))
        let client = try webhookClient()
        let req = request()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<CallbackStarted, Error>?
        Task {
            do { outcome = .success(try await client.startCallback(request: req)) } catch { outcome = .failure(error) }
            done.signal()
        }
        var ticks = 0
        let began = Date()
        while done.wait(timeout: .now() + 0.05) == .timedOut {
            ticks += 1
            guard Date().timeIntervalSince(began) < 30 else { return XCTFail("the task did not finish") }
        }
        let started = try XCTUnwrap(outcome, "result").get()
        XCTAssertTrue(started.callId != nil, "callId")
        XCTAssertTrue(ticks >= 5, "the caller's thread was blocked (ticks: \(ticks))")
    }

    func testCancelWhileWaitingForTheLimiter() throws {
        // One token, refilled every 20 s: the second call has to wait for the limiter.
        let client = try webhookClient(options(deadline: 30, rateLimit: .custom(burst: 1, perSecond: 0.05)))
        _ = try client.startCallbackBlocking(request: request())
        let token = CancelToken()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { token.cancel() }
        let began = Date()
        let d = try expectError(.rateLimited) {
            _ = try client.startCallbackBlocking(request: request(), cancel: token)
        }
        XCTAssertTrue(token.isCancelled())
        XCTAssertTrue(d.retrySafe)
        XCTAssertTrue(Date().timeIntervalSince(began) < 10, "gave up promptly")
        XCTAssertEqual(try Portal.ledger().count, 1, "the cancelled call was not sent")
    }

    func testCancellingTheTaskCancelsTheWaitingCall() throws {
        // Buckets are shared process-wide per portal and numbers: these numbers are this test's.
        let client = try webhookClient(options(deadline: 30, rateLimit: .custom(burst: 1, perSecond: 0.04)))
        _ = try client.startCallbackBlocking(request: request())
        let req = request()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<CallbackStarted, Error>?
        let task = Task {
            do { outcome = .success(try await client.startCallback(request: req)) } catch { outcome = .failure(error) }
            done.signal()
        }
        Thread.sleep(forTimeInterval: 0.3)
        task.cancel()
        XCTAssertTrue(done.wait(timeout: .now() + 10) == .success, "cancelled promptly")
        switch try XCTUnwrap(outcome, "outcome") {
        case .success: XCTFail("the cancelled call succeeded")
        case .failure(let error): XCTAssertTrue(error is CancellationError, "got \(error)")
        }
        XCTAssertEqual(try Portal.ledger().count, 1, "the cancelled call was not sent")
    }

    func testHelpers() throws {
        XCTAssertFalse(version().isEmpty)
        let masked = maskNumber(number: Magic.demo)
        XCTAssertTrue(masked.hasPrefix("+1") && masked.hasSuffix("23") && masked.contains("*"), masked)
        XCTAssertFalse(masked.contains("5550"), masked)
    }
}
