// A panic inside the library (forced by the core's test hook, compiled into the testing build
// only) reaches Swift as CallbackError.OutcomeUnknown, and the client and the process go on.
import Bitrix24Callback
import Foundation
import XCTest

/// `callback_core::TEST_PANIC_LINE`: a start from this line panics inside the core.
let testPanicLine = "test-hook:panic"

final class PanicTests: PortalTestCase {
    func testAPanicIsOutcomeUnknownAndEverythingGoesOn() async throws {
        let client = try webhookClient()
        let d = try expectError(.outcomeUnknown) {
            _ = try client.startCallbackBlocking(request: request(line: testPanicLine))
        }
        XCTAssertFalse(d.retrySafe)
        // The same from a task: the panic happens on the library's call thread.
        do {
            _ = try await client.startCallback(request: request(line: testPanicLine))
            XCTFail("the panicking start succeeded")
        } catch CallbackError.OutcomeUnknown(_, let retrySafe, _, _, _, _, _, _) {
            XCTAssertFalse(retrySafe)
        }
        // The client still serves, blocking and async, and so does a new one.
        XCTAssertNotNil(try client.startCallbackBlocking(request: request()).callId)
        let started = try await client.startCallback(request: request())
        XCTAssertNotNil(started.callId)
        let lines = try await client.lines()
        XCTAssertFalse(lines.isEmpty)
        let other = try await webhookClient().startCallback(request: request())
        XCTAssertNotNil(other.callId)
        XCTAssertEqual(try Portal.ledger().count, 3)
    }
}
