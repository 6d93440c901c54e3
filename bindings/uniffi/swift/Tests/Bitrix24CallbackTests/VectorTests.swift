// The shared vectors in tests/vectors/ (owned by the core), run through the free functions and,
// for the destination policy, through CallbackClient.checkCallback.
import Bitrix24Callback
import Foundation
import XCTest

/// The `policy` of a policy vector (the core's snake_case option names; absent = default) as the
/// binding's record; what the vector leaves out keeps the record's default. An option this
/// function does not know fails the test.
func policyOf(_ p: [String: Any]) throws -> DestinationPolicy {
    let known: Set = ["allowed_regions", "blocked_regions", "allowed_prefixes", "blocked_prefixes",
                      "block_costly_numbers", "allowed_number_types", "high_risk_regions",
                      "number_hourly_cap"]
    if let other = p.keys.first(where: { !known.contains($0) }) {
        throw TestFailure(description: "a policy option the test does not map: \(other)")
    }
    func list(_ key: String) -> [String]? { p[key] as? [String] }
    let types = try list("allowed_number_types")?.map { name -> NumberType in
        guard let t = numberTypeFromStr(name: name) else { throw TestFailure(description: "unknown number type \(name)") }
        return t
    }
    let d = DestinationPolicy()
    return DestinationPolicy(
        allowedRegions: list("allowed_regions") ?? d.allowedRegions,
        blockedRegions: list("blocked_regions") ?? d.blockedRegions,
        allowedPrefixes: list("allowed_prefixes") ?? d.allowedPrefixes,
        blockedPrefixes: list("blocked_prefixes") ?? d.blockedPrefixes,
        blockCostlyNumbers: p["block_costly_numbers"] as? Bool ?? d.blockCostlyNumbers,
        allowedNumberTypes: types ?? d.allowedNumberTypes,
        highRiskRegions: list("high_risk_regions") ?? d.highRiskRegions,
        numberCooldown: d.numberCooldown,
        numberHourlyCap: (p["number_hourly_cap"] as? Int).map { UInt32($0) } ?? d.numberHourlyCap
    )
}

final class VectorTests: XCTestCase {
    func load(_ name: String) throws -> [String: Any] {
        let dir = ProcessInfo.processInfo.environment["B24_VECTORS_DIR"] ?? "tests/vectors"
        let data = try Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// JSON null and a missing key both become nil.
    func str(_ object: [String: Any], _ key: String) -> String? { object[key] as? String }

    func run(_ name: String, section: String = "cases",
             _ body: ([String: Any], inout [String]) throws -> Void) throws {
        let cases = try load(name)[section] as? [[String: Any]] ?? []
        XCTAssertFalse(cases.isEmpty, "\(name) has no cases")
        var problems: [String] = []
        for c in cases {
            var mine: [String] = []
            do { try body(c, &mine) } catch { mine.append("unexpected \(error)") }
            let label = str(c, "name") ?? str(c, "input") ?? "?"
            problems += mine.map { "\(label): \($0)" }
        }
        if !problems.isEmpty {
            XCTFail("\(name): \(problems.count) problems in \(cases.count) cases:\n" + problems.joined(separator: "\n"))
        }
        print("     \(name) (\(section)): \(cases.count) cases")
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

    func testPolicy() throws {
        try Portal.reset()
        try run("policy.json") { c, problems in
            let expect = c["expect"] as? [String: Any] ?? [:]
            let policy = try policyOf(c["policy"] as? [String: Any] ?? [:])
            let client = try CallbackClient.webhook(url: Portal.webhookUrl, options: options(policy: policy))
            let req = CallbackRequest(fromLine: "reg1", toNumber: str(c, "number") ?? "", text: "policy vector")
            do {
                let d = try client.checkCallbackBlocking(request: req)
                if let code = str(expect, "code") {
                    problems.append("allowed (\(d)), expected \(code)")
                } else {
                    let got = "\(d.region ?? "nil") \(d.numberType.asStr())"
                    let want = "\(str(expect, "region") ?? "nil") \(str(expect, "type") ?? "?")"
                    if got != want { problems.append("\(got), expected \(want)") }
                }
            } catch let error as CallbackError {
                let d = error.details()
                let got = "\(d.code.asStr()) \(d.violations.map { "\($0.field)/\($0.code)" })"
                let want = "destination_blocked \(["TO_NUMBER/\(str(expect, "code") ?? "")"])"
                if str(expect, "code") == nil || got != want { problems.append("refused with \(got)") }
                if !d.retrySafe { problems.append("not retry-safe") }
            }
        }
        XCTAssertEqual(try Portal.requests().count, 0, "checkCallback sent something")
    }

    func testNumberExamples() throws {
        try run("numbers.json", section: "examples") { c, problems in
            let req = CallbackRequest(fromLine: "reg1", toNumber: str(c, "input") ?? "", text: "number example")
            let valid = c["valid"] as? Bool ?? false
            do {
                let v = try validateRequest(request: req, defaultRegion: str(c, "region_given"))
                if !valid {
                    problems.append("accepted as \(v.maskedNumber)")
                } else {
                    let got = [v.toNumber, v.destinationRegion ?? "nil", v.numberType.asStr()]
                    let want = [str(c, "e164") ?? "?", str(c, "region") ?? "nil", str(c, "type") ?? "?"]
                    if got != want { problems.append("\(got), expected \(want)") }
                }
            } catch let error as CallbackError {
                if valid { problems.append("refused with \(error.details().violations.map { "\($0.field)/\($0.code)" })") }
            }
        }
    }
}
