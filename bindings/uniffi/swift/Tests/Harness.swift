// A small test runner (no XCTest dependency), the fake portal's admin endpoint and helpers.
// The summary line mirrors the Kotlin suite: "swift: N passed, N failed".
import Bitrix24Callback
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

func check(_ condition: Bool, _ message: @autoclosure () -> String = "check failed",
           file: StaticString = #fileID, line: UInt = #line) throws {
    if !condition { throw TestFailure(description: "\(file):\(line): \(message())") }
}

func checkEqual<T: Equatable>(_ got: T, _ want: T, _ what: String = "",
                              file: StaticString = #fileID, line: UInt = #line) throws {
    if got != want {
        throw TestFailure(description: "\(file):\(line): \(what) got \(got), expected \(want)")
    }
}

func unwrap<T>(_ value: T?, _ what: String, file: StaticString = #fileID, line: UInt = #line) throws -> T {
    guard let value else { throw TestFailure(description: "\(file):\(line): \(what) is nil") }
    return value
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

/// Fresh destination numbers (UK drama range, away from the Kotlin suite's), so the per-number
/// cooldown never interferes.
enum Numbers {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var next = 500
    static func fresh() -> String {
        lock.lock()
        defer { lock.unlock() }
        let n = next
        next += 1
        precondition(n < 1000, "out of test numbers")
        return "+447700900" + String(format: "%03d", n)
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
    case .OutcomeUnknown: return .outcomeUnknown
    }
}

/// Runs `body`, expects a `CallbackError` of the variant for `code`, checks the fields every
/// error carries, and returns its details.
@discardableResult
func expectError(_ code: ErrorCode, file: StaticString = #fileID, line: UInt = #line,
                 _ body: () throws -> Void) throws -> ErrorDetails {
    do {
        try body()
    } catch let error as CallbackError {
        let d = error.details()
        try checkEqual(variantCode(error), code, "variant", file: file, line: line)
        try checkEqual(d.code, code, "code", file: file, line: line)
        try checkEqual(d.retrySafe, code.retrySafe(), "retrySafe", file: file, line: line)
        try check(!d.description.isEmpty, "empty description", file: file, line: line)
        let text = "\(error) \(String(reflecting: error)) \(error.localizedDescription) \(d.description)"
        try check(!text.contains(Portal.webhookSecret), "the webhook secret leaked: \(text)", file: file, line: line)
        return d
    } catch {
        throw TestFailure(description: "\(file):\(line): expected CallbackError \(code.asStr()), got \(error)")
    }
    throw TestFailure(description: "\(file):\(line): expected \(code.asStr()), nothing was thrown")
}

/// Runs every test (each after a portal reset) and exits non-zero on any failure.
func runAll(_ tests: [(String, () throws -> Void)]) -> Never {
    var passed = 0
    var failed = 0
    let began = Date()
    for (name, test) in tests {
        let start = Date()
        do {
            try Portal.reset()
            try test()
            passed += 1
            print("ok   \(name) (\(Int(Date().timeIntervalSince(start) * 1000)) ms)")
        } catch {
            failed += 1
            print("FAIL \(name)\n    \(error)")
        }
    }
    print("swift: \(passed) passed, \(failed) failed (\(Int(Date().timeIntervalSince(began) * 1000)) ms)")
    exit(failed == 0 && passed > 0 ? 0 : 1)
}
