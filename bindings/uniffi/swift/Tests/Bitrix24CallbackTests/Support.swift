// Shared by the XCTest cases: the fake portal's admin endpoint (the portal itself is started by
// bindings/uniffi/test-swift.sh, which passes its JSON line in B24_FAKE_PORTAL_JSON), test
// numbers, client/request factories and the error assertion every error test uses.
import Bitrix24Callback
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// An error for helper failures outside an assertion (XCTest reports it with the test).
struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

/// The base class of the suites that talk to the fake portal: every test starts from a reset
/// portal (no calls, no faults, default configuration).
class PortalTestCase: XCTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try Portal.reset()
    }
}

/// The fake portal started by test-swift.sh (B24_FAKE_PORTAL_JSON) and its admin endpoint.
enum Portal {
    static let info: [String: Any] = {
        guard let text = ProcessInfo.processInfo.environment["B24_FAKE_PORTAL_JSON"],
              let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        else { fatalError("B24_FAKE_PORTAL_JSON is not set: run bindings/uniffi/test-swift.sh") }
        return object
    }()
    static func string(_ key: String) -> String { info[key] as? String ?? "" }
    static var baseUrl: String { string("base_url") }
    static var webhookUrl: String { string("webhook_url") }
    static var clientEndpoint: String { string("client_endpoint") }
    static var serverEndpoint: String { string("server_endpoint") }
    static var oauthClientId: String { string("oauth_client_id") }
    static var oauthClientSecret: String { string("oauth_client_secret") }
    static var webhookSecret: String {
        String(webhookUrl.split(separator: "/").last ?? "")
    }
    static var adminUrl: String {
        let url = string("admin_url")
        return url.hasSuffix("/") ? url : url + "/"
    }

    /// One synchronous request to the admin endpoint; returns the body.
    @discardableResult
    static func admin(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> Data {
        var request = URLRequest(url: URL(string: adminUrl + path)!)
        request.httpMethod = method
        request.timeoutInterval = 10
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data?, URLResponse?, Error?) = (nil, nil, nil)
        URLSession.shared.dataTask(with: request) { data, response, error in
            result = (data, response, error)
            done.signal()
        }.resume()
        done.wait()
        if let error = result.2 { throw TestFailure(description: "admin \(method) \(path): \(error)") }
        let status = (result.1 as? HTTPURLResponse)?.statusCode ?? 0
        let data = result.0 ?? Data()
        guard (200..<300).contains(status) else {
            throw TestFailure(description: "admin \(method) \(path) -> \(status) \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    static func json(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> [String: Any] {
        let data = try admin(method, path, body)
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func reset() throws {
        try admin("POST", "reset")
        try admin("DELETE", "faults")
    }

    static func ledger() throws -> [[String: Any]] {
        try json("GET", "ledger")["calls"] as? [[String: Any]] ?? []
    }

    static func requests() throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: try admin("GET", "requests"))
        if let list = object as? [[String: Any]] { return list }
        return (object as? [String: Any])?["requests"] as? [[String: Any]] ?? []
    }

    static func fault(_ kind: String, times: Int = 1, method: String = "voximplant.callback.start",
                      delayMs: Int = 0) throws {
        try admin("POST", "faults", ["kind": kind, "times": times, "method": method, "delay_ms": delayMs])
    }

    static func config(_ changes: [String: Any]) throws {
        try admin("POST", "config", changes)
    }
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
