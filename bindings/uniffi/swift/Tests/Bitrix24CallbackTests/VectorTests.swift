// The shared vectors in tests/vectors/ (owned by the core), run through the free functions.
import Bitrix24Callback
import Foundation
import XCTest

final class VectorTests: XCTestCase {
    func load(_ name: String) throws -> [String: Any] {
        let dir = ProcessInfo.processInfo.environment["B24_VECTORS_DIR"] ?? "tests/vectors"
        let data = try Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// JSON null and a missing key both become nil.
    func str(_ object: [String: Any], _ key: String) -> String? { object[key] as? String }

    func run(_ name: String, _ body: ([String: Any], inout [String]) throws -> Void) throws {
        let cases = try load(name)["cases"] as? [[String: Any]] ?? []
        XCTAssertFalse(cases.isEmpty, "\(name) has no cases")
        var problems: [String] = []
        for c in cases {
            var mine: [String] = []
            do { try body(c, &mine) } catch { mine.append("unexpected \(error)") }
            problems += mine.map { "\(str(c, "name") ?? "?"): \($0)" }
        }
        if !problems.isEmpty {
            XCTFail("\(name): \(problems.count) problems in \(cases.count) cases:\n" + problems.joined(separator: "\n"))
        }
        print("     \(name): \(cases.count) cases")
    }

    func pairs(_ list: Any?) -> [String] {
        (list as? [[String: Any]] ?? []).map { "\(str($0, "field") ?? "")/\(str($0, "code") ?? "")" }
    }

    func testRequests() throws {
        try run("requests.json") { c, problems in
            let input = c["input"] as? [String: Any] ?? [:]
            let expect = c["expect"] as? [String: Any] ?? [:]
            let req = CallbackRequest(fromLine: str(input, "from_line") ?? "", toNumber: str(input, "to_number") ?? "",
                                      text: str(input, "text") ?? "", voice: str(input, "voice"))
            do {
                let v = try validateRequest(request: req, defaultRegion: str(input, "default_region"),
                                            allowUnknownVoice: input["allow_unknown_voice"] as? Bool ?? false)
                if let want = str(expect, "wire_body") {
                    if v.wireBody != want { problems.append("wire body \(v.wireBody)") }
                } else {
                    problems.append("accepted, expected \(pairs(expect["violations"]))")
                }
            } catch let error as CallbackError {
                let got = error.details().violations.map { "\($0.field)/\($0.code)" }
                if expect["violations"] != nil {
                    let want = pairs(expect["violations"])
                    if got != want { problems.append("violations \(got), expected \(want)") }
                } else {
                    problems.append("refused with \(got)")
                }
            }
        }
    }

    func testResponses() throws {
        try run("responses.json") { c, problems in
            let expect = c["expect"] as? [String: Any] ?? [:]
            let status = UInt16(c["http_status"] as? Int ?? 0)
            let got = classifyResponse(httpStatus: status, body: Data((str(c, "body") ?? "").utf8))
            if expect["ok"] as? Bool == true {
                if let got { problems.append("classified as \(got.code.asStr())") }
            } else if let got {
                if got.code.asStr() != str(expect, "code") { problems.append("code \(got.code.asStr())") }
                if got.retrySafe != expect["retry_safe"] as? Bool { problems.append("retrySafe \(got.retrySafe)") }
                if got.bitrixCode != str(expect, "bitrix_code") { problems.append("bitrixCode \(got.bitrixCode ?? "nil")") }
            } else {
                problems.append("classified as success, expected \(str(expect, "code") ?? "?")")
            }
        }
    }

    func testEvents() throws {
        let token = str(try load("events.json"), "application_token") ?? ""
        try run("events.json") { c, problems in
            let expect = c["expect"] as? [String: Any] ?? [:]
            do {
                let e = try parseEvent(body: Data((str(c, "body") ?? "").utf8), expectedApplicationToken: token)
                if let code = str(expect, "code") {
                    problems.append("parsed, expected \(code)")
                } else {
                    if e.event != str(expect, "event") { problems.append("event \(e.event)") }
                    if e.callId != str(expect, "call_id") { problems.append("callId \(e.callId ?? "nil")") }
                    if expect["outcome"] != nil && e.outcome?.asStr() != str(expect, "outcome") {
                        problems.append("outcome \(e.outcome?.asStr() ?? "nil")")
                    }
                }
            } catch let error as CallbackError {
                let code = error.details().code.asStr()
                if let want = str(expect, "code") {
                    if code != want { problems.append("code \(code), expected \(want)") }
                } else {
                    problems.append("refused with \(code): \(error.details().description)")
                }
            }
        }
    }
}
