// Shared by the XCTest cases: the fake portal (the library's own FakePortal, from the testing
// build of libcallback_uniffi, started in this process on first use), test numbers,
// client/request factories and the error assertion every error test uses.
import Bitrix24Callback
import Dispatch
import Foundation
import XCTest

/// An error for helper failures outside an assertion (XCTest reports it with the test).
struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

/// The base class of the suites that talk to the fake portal: every test starts from a reset
/// portal (no calls, no faults; tokens and settings stay).
class PortalTestCase: XCTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try Portal.reset()
    }
}

/// The one fake portal of the run (simulated call stages of 200 ms).
enum Portal {
    static let fake: FakePortal = {
        do {
            return try FakePortal.start(options: FakePortalOptions(stageDuration: 0.2))
        } catch {
            fatalError("the fake portal did not start: \(error)")
        }
    }()
    static var baseUrl: String { fake.baseUrl() }
    static var webhookUrl: String { fake.webhookUrl() }
    static var clientEndpoint: String { fake.clientEndpoint() }
    static var serverEndpoint: String { fake.serverEndpoint() }
    static var oauthClientId: String { fake.oauthClientId() }
    static var oauthClientSecret: String { fake.oauthClientSecret() }
    /// The secret part of the webhook address (must never show up in any error text).
    static var webhookSecret: String { fake.webhookSecret() }

    static func reset() throws { fake.reset() }
    static func ledger() throws -> [FakeCall] { fake.ledger() }
    static func requests() throws -> [FakeRequest] { fake.requests() }
    static func stats() throws -> FakeStats { fake.stats() }
    static func fault(_ kind: FakeFaultKind, times: UInt32 = 1,
                      method: String? = "voximplant.callback.start") throws {
        try fake.addFault(fault: FakeFault(kind: kind, method: method, times: times))
    }
    static func update(_ changes: FakePortalOptions) throws { fake.update(options: changes) }
    static func issueTokens() throws -> FakeTokens { fake.issueTokens() }
    static func expireTokens() throws { fake.expireAccessTokens() }
}

/// The names of the thread the library runs one call on, and of its one timer thread.
let callThread = "b24cb-call"
let timerThread = "b24cb-timer"

/// Threads of this process with this name (Linux: /proc/self/task/<tid>/comm).
func threadsNamed(_ name: String) -> Int {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.filter { tid in
        let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)
        return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name
    }.count
}

/// Polls `condition` every 20 ms for up to `seconds`; true once it held.
func eventually(_ seconds: TimeInterval = 5, _ condition: () -> Bool) -> Bool {
    let until = Date().addingTimeInterval(seconds)
    while Date() < until {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return condition()
}

/// The fake portal's magic numbers (US fictional range 555-0100..0199 in area code 201).
enum Magic {
    static let busy = "+12015550101"
    static let noAnswer = "+12015550102"
    static let declined = "+12015550103"
    static let insufficientFunds = "+12015550104"
    static let invalidNumber = "+12015550105"
    static let controllerFailure = "+12015550106"
    /// Answered like every other number; the README's example number.
    static let demo = "+12015550123"
}

/// Fresh destination numbers for answered calls: +1 201 555-0110 .. -0199 (the fictional
/// range, away from the magic numbers), cycling. The per-number cooldown lives in the client,
/// so a number only has to be fresh for the client that dials it; 89 numbers cover the largest
/// single-client test (32) many times over.
enum Numbers {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var next = 10
    static func fresh() -> String {
        lock.lock()
        defer { lock.unlock() }
        if next == 23 { next += 1 }
        let n = next
        next = next == 99 ? 10 : next + 1
        return "+120155501" + String(format: "%02d", n)
    }
}

func options(deadline: TimeInterval = 10, rateLimit: RateLimit? = nil,
             policy: DestinationPolicy? = nil) -> ClientOptions {
    ClientOptions(timeout: 5, deadline: deadline, rateLimit: rateLimit,
                  userAgentSuffix: "swift-tests", destinationPolicy: policy)
}

func webhookClient(_ options: ClientOptions = options()) throws -> CallbackClient {
    try CallbackClient.webhook(url: Portal.webhookUrl, options: options)
}

func request(_ number: String = Numbers.fresh(), line: String = "reg1", key: String? = nil) -> CallbackRequest {
    CallbackRequest(fromLine: line, toNumber: number, text: "A visitor asked for a call back",
                    voice: "ruinternalfemale", idempotencyKey: key)
}

/// The code a variant stands for (exhaustive: a new variant is a compile error here).
func variantCode(_ error: CallbackError) -> ErrorCode {
    switch error {
    case .InvalidRequest: return .invalidRequest
    case .DestinationBlocked: return .destinationBlocked
    case .RateLimited: return .rateLimited
    case .OperationTimeLimit: return .operationTimeLimit
    case .AuthFailed: return .authFailed
    case .InsufficientScope: return .insufficientScope
    case .AccessDenied: return .accessDenied
    case .LineNotFound: return .lineNotFound
    case .NumberRejected: return .numberRejected
    case .Portal: return .portalError
    case .Transport: return .transport
    case .SharedStateUnavailable: return .sharedStateUnavailable
    case .OutcomeUnknown: return .outcomeUnknown
    }
}

/// Runs `body`, expects a `CallbackError` of the variant for `code`, checks the fields every
/// error carries (and that the webhook secret is never shown), and returns its details.
@discardableResult
func expectError(_ code: ErrorCode, file: StaticString = #filePath, line: UInt = #line,
                 _ body: () throws -> Void) throws -> ErrorDetails {
    do {
        try body()
    } catch let error as CallbackError {
        let d = error.details()
        XCTAssertEqual(variantCode(error), code, "variant", file: file, line: line)
        XCTAssertEqual(d.code, code, "code", file: file, line: line)
        XCTAssertEqual(d.retrySafe, code.retrySafe(), "retrySafe", file: file, line: line)
        XCTAssertFalse(d.description.isEmpty, "empty description", file: file, line: line)
        let text = "\(error) \(String(reflecting: error)) \(error.localizedDescription) \(d.description)"
        XCTAssertFalse(text.contains(Portal.webhookSecret), "the webhook secret leaked: \(text)",
                       file: file, line: line)
        return d
    } catch {
        XCTFail("expected CallbackError \(code.asStr()), got \(error)", file: file, line: line)
        throw error
    }
    XCTFail("expected \(code.asStr()), nothing was thrown", file: file, line: line)
    throw TestFailure(description: "expected \(code.asStr()), nothing was thrown")
}
