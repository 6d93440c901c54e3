// Task cancellation for CallbackClient's async methods. Part of the Bitrix24Callback module,
// next to the generated Bitrix24Callback.swift.
//
// uniffi's generated Swift awaits a Rust future without looking at task cancellation. So the
// methods under the plain names are written here: each ties a CancelToken to the calling task
// and awaits the generated form that takes one (`startCallback(request:cancel:)`, ...). When the
// task is cancelled, the token is cancelled: a start still waiting for the rate limiter or a
// back-off ends at once with nothing sent, a wait for an outcome stops polling, and the method
// throws `CancellationError`. A request already on the wire completes in the background and its
// answer is discarded (a start may therefore have placed the call: repeat it with the same
// idempotency key to learn its answer, or look at `callRecord`).

import Foundation

extension CallbackClient {
    /// Validates the request, applies the destination policy and dedupe, paces through the
    /// rate limiter and sends `voximplant.callback.start`; retries only what is safe. Runs on a
    /// thread of the library's own; cancelling the task cancels the call (see above).
    public func startCallback(request: CallbackRequest) async throws -> CallbackStarted {
        try await withCancelToken { try await self.startCallback(request: request, cancel: $0) }
    }

    /// What `startCallback` would decide, without sending or reserving anything.
    public func checkCallback(request: CallbackRequest) async throws -> Destination {
        try await withCancelToken { try await self.checkCallback(request: request, cancel: $0) }
    }

    /// `voximplant.line.get`: the lines usable as `fromLine`, sorted by id.
    public func lines() async throws -> [Line] {
        try await withCancelToken { try await self.lines(cancel: $0) }
    }

    /// `voximplant.tts.voices.get`, sorted by id.
    public func voices() async throws -> [Voice] {
        try await withCancelToken { try await self.voices(cancel: $0) }
    }

    /// `voximplant.statistic.get` for one call; `nil` while the call is not finished.
    public func callRecord(callId: String) async throws -> CallRecord? {
        try await withCancelToken { try await self.callRecord(callId: callId, cancel: $0) }
    }

    /// Polls `callRecord` until the record appears or `timeout` passes (`nil`). Sleeps on a
    /// timer between the polls (no thread is held); cancelling the task stops the polling.
    public func waitForOutcome(callId: String, timeout: TimeInterval) async throws -> CallRecord? {
        try await withCancelToken {
            try await self.waitForOutcome(callId: callId, timeout: timeout, cancel: $0)
        }
    }
}

/// Runs `body` with a token that the task's cancellation cancels. An error of a cancelled task
/// becomes `CancellationError`; a result that arrived is returned all the same.
private func withCancelToken<T>(_ body: (CancelToken) async throws -> T) async throws -> T {
    let token = CancelToken()
    do {
        return try await withTaskCancellationHandler {
            try await body(token)
        } onCancel: {
            token.cancel()
        }
    } catch is CallbackError where Task.isCancelled {
        throw CancellationError()
    }
}
