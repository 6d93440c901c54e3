// The happy paths: a callback, dedupe, lines/voices, outcomes, one client shared by several
// threads, Task.detached, cancellation.
import Bitrix24Callback
import Dispatch
import Foundation

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

enum ClientTests {
    static let all: [(String, () throws -> Void)] = [
        ("client.startCallbackSucceeds", startCallbackSucceeds),
        ("client.idempotencyKeyDeduplicates", idempotencyKeyDeduplicates),
        ("client.linesAndVoices", linesAndVoices),
        ("client.restAppLineHasNoCallId", restAppLineHasNoCallId),
        ("client.outcomesOfFinishedCalls", outcomesOfFinishedCalls),
        ("client.oneClientSharedByEightThreads", oneClientSharedByEightThreads),
        ("client.fromATaskDetached", fromATaskDetached),
        ("client.cancelWhileWaitingForTheLimiter", cancelWhileWaitingForTheLimiter),
        ("client.cancellingTheTaskCancelsTheWaitingCall", cancellingTheTaskCancelsTheWaitingCall),
        ("client.helpers", helpers),
    ]

    static func startCallbackSucceeds() throws {
        let client = try webhookClient()
        let number = Numbers.fresh()
        let started = try client.startCallback(request: request(number))
        let callId = try unwrap(started.callId, "callId")
        try check(!callId.isEmpty)
        try check(!started.deduplicated)
        try check(started.timing.attempts >= 1, "attempts")
        try check(started.timing.total > 0, "total time")
        try checkEqual(client.portal().trimmingCharacters(in: ["/"]), Portal.baseUrl.trimmingCharacters(in: ["/"]))

        let ledger = try Portal.ledger()
        try checkEqual(ledger.count, 1, "calls placed")
        try checkEqual(ledger[0]["call_id"] as? String, callId, "ledger call_id")
        try checkEqual(ledger[0]["line"] as? String, "reg1", "ledger line")
        let placed = (ledger[0]["number"] as? String ?? "").trimmingCharacters(in: ["+"])
        try checkEqual("+" + placed, number, "ledger number")

        let agent = try Portal.requests()
            .first { $0["rest_method"] as? String == "voximplant.callback.start" }?["user_agent"] as? String ?? ""
        try check(agent.contains("uniffi/\(version())"), "user agent: \(agent)")
        try check(agent.contains("swift-tests"), "user agent: \(agent)")
    }

    static func idempotencyKeyDeduplicates() throws {
        let client = try webhookClient()
        let req = request(key: "form-submission-42")
        let first = try client.startCallback(request: req)
        let second = try client.startCallback(request: req)
        try check(!first.deduplicated)
        try check(second.deduplicated)
        try checkEqual(second.callId, first.callId, "callId")
        try checkEqual(try Portal.ledger().count, 1, "the portal was called once")
    }

    static func linesAndVoices() throws {
        let client = try webhookClient()
        let lines = try client.lines()
        let ids = lines.map(\.id)
        try check(ids.contains("reg1") && ids.contains("sip7"), "lines: \(ids)")
        try checkEqual(ids, ids.sorted(), "sorted by id")
        let sip7 = try unwrap(lines.first { $0.id == "sip7" }, "sip7")
        try check(!sip7.name.contains("&amp;") && !sip7.name.contains("&lt;"), "decoded: \(sip7.name)")
        let voices = try client.voices()
        try check(voices.contains { $0.id == "ruinternalfemale" }, "voices: \(voices.map(\.id))")
    }

    static func restAppLineHasNoCallId() throws {
        let started = try webhookClient().startCallback(request: request(line: "REST_APP:1"))
        try checkEqual(started.callId, nil, "callId")
        try checkEqual(try Portal.ledger().count, 1, "calls placed")
    }

    static func outcomesOfFinishedCalls() throws {
        let client = try webhookClient()
        let answered = try client.startCallback(request: request())
        let busy = try client.startCallback(request: request("+447700900001"))
        let a = try unwrap(try client.waitForOutcome(callId: try unwrap(answered.callId, "callId"), timeout: 20), "record")
        try checkEqual(a.outcome, .answered, "outcome")
        try checkEqual(a.failedCode, "200", "failedCode")
        try checkEqual(a.outcome.asStr(), "answered", "asStr")
        let busyId = try unwrap(busy.callId, "callId")
        let b = try unwrap(try client.waitForOutcome(callId: busyId, timeout: 20), "record")
        try checkEqual(b.outcome, .busy, "outcome")
        try checkEqual(b.failedCode, "486", "failedCode")
        try checkEqual(try client.callRecord(callId: busyId), b, "callRecord")
        if let masked = b.maskedNumber { try check(!masked.contains("900001"), "masked: \(masked)") }
        try checkEqual(try client.callRecord(callId: "no-such-call-id"), nil, "unknown call")
    }

    static func oneClientSharedByEightThreads() throws {
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
        try check(errors.isEmpty, "errors: \(errors)")
        try checkEqual(Set(callIds).count, threads * perThread, "distinct call ids")
        try checkEqual(try Portal.ledger().count, threads * perThread, "calls placed")
    }

    /// The pattern the README recommends: the blocking call runs in a detached task while the
    /// calling thread stays free (it keeps ticking during a slow portal answer).
    static func fromATaskDetached() throws {
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
            try check(Date().timeIntervalSince(began) < 30, "the task finished")
        }
        let started = try unwrap(outcome, "result").get()
        try check(started.callId != nil, "callId")
        try check(ticks >= 5, "the caller's thread was blocked (ticks: \(ticks))")
    }

    static func cancelWhileWaitingForTheLimiter() throws {
        // One token, refilled every 20 s: the second call has to wait for the limiter.
        let client = try webhookClient(options(deadline: 30, rateLimit: .custom(burst: 1, perSecond: 0.05)))
        _ = try client.startCallback(request: request())
        let token = CancelToken()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { token.cancel() }
        let began = Date()
        let d = try expectError(.rateLimited) {
            _ = try client.startCallbackCancellable(request: request(), cancel: token)
        }
        try check(token.isCancelled())
        try check(d.retrySafe)
        try check(Date().timeIntervalSince(began) < 10, "gave up promptly")
        try checkEqual(try Portal.ledger().count, 1, "the cancelled call was not sent")
    }

    static func cancellingTheTaskCancelsTheWaitingCall() throws {
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
        try check(done.wait(timeout: .now() + 10) == .success, "cancelled promptly")
        switch try unwrap(outcome, "outcome") {
        case .success: throw TestFailure(description: "the cancelled call succeeded")
        case .failure(let error): try check(error is CancellationError, "got \(error)")
        }
        try checkEqual(try Portal.ledger().count, 1, "the cancelled call was not sent")
    }

    static func helpers() throws {
        try check(!version().isEmpty)
        let masked = maskNumber(number: "+447700900123")
        try check(masked.hasPrefix("+44") && masked.hasSuffix("23") && masked.contains("*"), masked)
        try check(!masked.contains("0090"), masked)
    }
}
