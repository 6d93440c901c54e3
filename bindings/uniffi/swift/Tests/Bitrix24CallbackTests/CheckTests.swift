// checkCallback (the decision of startCallback without traffic or reservation) and the
// destination policy's options.
import Bitrix24Callback
import Foundation
import XCTest

final class CheckTests: PortalTestCase {
    func pairs(_ d: ErrorDetails) -> [String] { d.violations.map { "\($0.field)/\($0.code)" } }

    func testAllowedDestinationHidesTheNumberWhenPrinted() throws {
        let client = try webhookClient()
        let d = try client.checkCallbackBlocking(request: request("+44 20 7946 0000"))
        XCTAssertEqual(d.number, "+442079460000", "number")
        XCTAssertEqual(d.maskedNumber, maskNumber(number: d.number), "maskedNumber")
        XCTAssertEqual(d.region, "GB", "region")
        XCTAssertEqual(d.numberType, .fixedLine, "numberType")
        for printed in ["\(d)", d.description, String(reflecting: d)] {
            XCTAssertTrue(printed.contains(d.maskedNumber), printed)
            XCTAssertFalse(printed.contains("2079460000"), "number in: \(printed)")
        }
        XCTAssertEqual(try Portal.requests().count, 0, "checkCallback sent something")
    }

    func testPremiumRateIsRefusedWithItsCode() throws {
        let client = try webhookClient()
        let d = try expectError(.destinationBlocked) {
            _ = try client.checkCallbackBlocking(request: request("+39 0878 123 45"))
        }
        XCTAssertEqual(pairs(d), ["TO_NUMBER/premium_rate"])
        XCTAssertEqual(d.httpStatus, nil, "httpStatus")
        XCTAssertEqual(try Portal.requests().count, 0, "checkCallback sent something")
    }

    func testCheckingSendsAndReservesNothing() throws {
        let client = try webhookClient()
        let number = Numbers.fresh()
        for _ in 0..<10 { _ = try client.checkCallbackBlocking(request: request(number)) }
        XCTAssertEqual(try Portal.requests().count, 0, "checkCallback sent something")
        _ = try client.startCallbackBlocking(request: request(number))
        XCTAssertEqual(try Portal.ledger().count, 1, "calls placed")
        // Now startCallback would refuse the number (cooldown), and so does the check.
        let sent = try Portal.requests().count
        let d = try expectError(.destinationBlocked) { _ = try client.checkCallbackBlocking(request: request(number)) }
        XCTAssertEqual(pairs(d), ["TO_NUMBER/cooldown"])
        XCTAssertEqual(try Portal.requests().count, sent, "checkCallback sent something")
    }

    func testIdempotencyKeyReusedForAnotherNumberIsRefused() throws {
        let client = try webhookClient()
        let first = Numbers.fresh()
        let other = Numbers.fresh()
        _ = try client.startCallbackBlocking(request: request(first, key: "form-7"))
        // The same request: startCallback would answer from memory, so the check accepts it.
        XCTAssertEqual(try client.checkCallbackBlocking(request: request(first, key: "form-7")).number, first)
        let calls: [() throws -> Void] = [
            { _ = try client.checkCallbackBlocking(request: request(other, key: "form-7")) },
            { _ = try client.startCallbackBlocking(request: request(other, key: "form-7")) },
        ]
        for call in calls {
            let d = try expectError(.invalidRequest, call)
            XCTAssertEqual(pairs(d), ["idempotency_key/reused"])
        }
        XCTAssertEqual(try Portal.ledger().count, 1, "calls placed")
    }

    func testBadPolicyValuesAreReportedTogether() throws {
        let policy = DestinationPolicy(blockedRegions: ["XX"], allowedPrefixes: ["44"])
        let d = try expectError(.invalidRequest) { _ = try webhookClient(options(policy: policy)) }
        XCTAssertEqual(d.violations.map { "\($0.field) \($0.code)" }, [
            "destinationPolicy.blockedRegions unknown_region",
            "destinationPolicy.allowedPrefixes invalid_prefix",
        ])
    }

    func testHourlyCapIsAnOption() throws {
        let client = try webhookClient(options(policy: DestinationPolicy(numberCooldown: 0, numberHourlyCap: 2)))
        let number = Numbers.fresh()
        for _ in 0..<2 { _ = try client.startCallbackBlocking(request: request(number)) }
        let calls: [() throws -> Void] = [
            { _ = try client.checkCallbackBlocking(request: request(number)) },
            { _ = try client.startCallbackBlocking(request: request(number)) },
        ]
        for call in calls {
            let d = try expectError(.destinationBlocked, call)
            XCTAssertEqual(pairs(d), ["TO_NUMBER/hourly_cap"])
        }
        XCTAssertEqual(try Portal.ledger().count, 2, "calls placed")
    }

    func testNumberTypesAndTheHighRiskList() throws {
        let all: [NumberType] = [.fixedLine, .mobile, .fixedLineOrMobile, .tollFree, .premiumRate,
                                 .sharedCost, .voip, .personalNumber, .pager, .uan, .voicemail, .unknown]
        XCTAssertEqual(Set(all.map { $0.asStr() }).count, 12)
        for t in all { XCTAssertEqual(numberTypeFromStr(name: t.asStr()), t, t.asStr()) }
        XCTAssertEqual(NumberType.premiumRate.asStr(), "premium_rate")
        XCTAssertNil(numberTypeFromStr(name: "nonsense"))
        XCTAssertTrue(defaultHighRiskRegions().contains("JM"), "\(defaultHighRiskRegions())")
        let client = try webhookClient(options(policy: DestinationPolicy(highRiskRegions: ["CU"])))
        XCTAssertEqual(try client.checkCallbackBlocking(request: request("+1 876 555 0123")).region, "JM")
    }
}
