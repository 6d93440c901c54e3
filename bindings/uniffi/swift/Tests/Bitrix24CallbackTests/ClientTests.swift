// The happy paths: a callback, dedupe, lines/voices, outcomes, one client shared by several
// threads, Task.detached, cancellation.
import Bitrix24Callback
import Dispatch
import Foundation
import XCTest

/// The README's async wrapper: the blocking call runs in a detached task, and cancelling the
/// calling task cancels the call while it still waits for the limiter or a back-off.
extension CallbackClient {
    func startCallbackAsync(_ request: CallbackRequest) async throws -> CallbackStarted {
        let cancel = CancelToken()
        do {
            return try await withTaskCancellationHandler {
                try await Task.detached(priority: .userInitiated) {
                    try self.startCallbackCancellable(request: request, cancel: cancel)
                }.value
            } onCancel: {
                cancel.cancel()
            }
        } catch is CallbackError where Task.isCancelled {
            throw CancellationError()
        }
    }
}

final class ClientTests: PortalTestCase {
    func testStartCallbackSucceeds() throws {
        let client = try webhookClient()
        let number = Numbers.fresh()
        let started = try client.startCallback(request: request(number))
        let callId = try XCTUnwrap(started.callId, "callId")
        XCTAssertFalse(callId.isEmpty)
        XCTAssertFalse(started.deduplicated)
        XCTAssertTrue(started.timing.attempts >= 1, "attempts")
        XCTAssertTrue(started.timing.total > 0, "total time")
        XCTAssertEqual(client.portal().trimmingCharacters(in: ["/"]), Portal.baseUrl.trimmingCharacters(in: ["/"]))

        let ledger = try Portal.ledger()
        XCTAssertEqual(ledger.count, 1, "calls placed")
        let entry = try XCTUnwrap(ledger.first, "ledger entry")
        XCTAssertEqual(entry["call_id"] as? String, callId, "ledger call_id")
        XCTAssertEqual(entry["line"] as? String, "reg1", "ledger line")
        let placed = (entry["number"] as? String ?? "").trimmingCharacters(in: ["+"])
        XCTAssertEqual("+" + placed, number, "ledger number")

        let agent = try Portal.requests()
            .first { $0["rest_method"] as? String == "voximplant.callback.start" }?["user_agent"] as? String ?? ""
        XCTAssertEqual(agent, "bitrix24-callback/\(version()) (uniffi/\(version())) swift-tests", "user agent")
    }

    func testIdempotencyKeyDeduplicates() throws {
        let client = try webhookClient()
        let req = request(key: "form-submission-42")
        let first = try client.startCallback(request: req)
        let second = try client.startCallback(request: req)
        XCTAssertFalse(first.deduplicated)
        XCTAssertTrue(second.deduplicated)
        XCTAssertEqual(second.callId, first.callId, "callId")
        XCTAssertEqual(try Portal.ledger().count, 1, "the portal was called once")
    }

    func testLinesAndVoices() throws {
        let client = try webhookClient()
        let lines = try client.lines()
        let ids = lines.map(\.id)
        XCTAssertTrue(ids.contains("reg1") && ids.contains("sip7"), "lines: \(ids)")
        XCTAssertEqual(ids, ids.sorted(), "sorted by id")
        let sip7 = try XCTUnwrap(lines.first { $0.id == "sip7" }, "sip7")
        XCTAssertTrue(!sip7.name.contains("&amp;") && !sip7.name.contains("&lt;"), "decoded: \(sip7.name)")
        let voices = try client.voices()
        XCTAssertTrue(voices.contains { $0.id == "ruinternalfemale" }, "voices: \(voices.map(\.id))")
    }

    func testRestAppLineHasNoCallId() throws {
        let started = try webhookClient().startCallback(request: request(line: "REST_APP:1"))
        XCTAssertEqual(started.callId, nil, "callId")
        XCTAssertEqual(try Portal.ledger().count, 1, "calls placed")
    }

    func testOutcomesOfFinishedCalls() throws {
        let client = try webhookClient()
        let answered = try client.startCallback(request: request())
        let busy = try client.startCallback(request: request(Magic.busy))
        let a = try XCTUnwrap(try client.waitForOutcome(callId: try XCTUnwrap(answered.callId, "callId"), timeout: 20), "record")
        XCTAssertEqual(a.outcome, .answered, "outcome")
        XCTAssertEqual(a.failedCode, "200", "failedCode")
        XCTAssertEqual(a.outcome.asStr(), "answered", "asStr")
        let busyId = try XCTUnwrap(busy.callId, "callId")
        let b = try XCTUnwrap(try client.waitForOutcome(callId: busyId, timeout: 20), "record")
        XCTAssertEqual(b.outcome, .busy, "outcome")
        XCTAssertEqual(b.failedCode, "486", "failedCode")
        XCTAssertEqual(try client.callRecord(callId: busyId), b, "callRecord")
        if let masked = b.maskedNumber { XCTAssertFalse(masked.contains("5550101"), "masked: \(masked)") }
        XCTAssertEqual(try client.callRecord(callId: "no-such-call-id"), nil, "unknown call")
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
                    let started = try client.startCallback(request: request(numbers[t * perThread + i]))
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

    /// The pattern the README recommends: the blocking call runs in a detached task while the
    /// calling thread stays free (it keeps ticking during a slow portal answer).
    func testFromATaskDetached() throws {
        try Portal.fault("delay", times: 1, delayMs: 800)
        let client = try webhookClient()
        let req = request()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<CallbackStarted, Error>?
        Task.detached {
            outcome = Result { try client.startCallback(request: req) }
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
        _ = try client.startCallback(request: request())
        let token = CancelToken()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { token.cancel() }
        let began = Date()
        let d = try expectError(.rateLimited) {
            _ = try client.startCallbackCancellable(request: request(), cancel: token)
        }
        XCTAssertTrue(token.isCancelled())
        XCTAssertTrue(d.retrySafe)
        XCTAssertTrue(Date().timeIntervalSince(began) < 10, "gave up promptly")
        XCTAssertEqual(try Portal.ledger().count, 1, "the cancelled call was not sent")
    }

    func testCancellingTheTaskCancelsTheWaitingCall() throws {
        // Buckets are shared process-wide per portal and numbers: these numbers are this test's.
        let client = try webhookClient(options(deadline: 30, rateLimit: .custom(burst: 1, perSecond: 0.04)))
        _ = try client.startCallback(request: request())
        let req = request()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<CallbackStarted, Error>?
        let task = Task {
            do { outcome = .success(try await client.startCallbackAsync(req)) } catch { outcome = .failure(error) }
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
