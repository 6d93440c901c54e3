// The sharedState option reaches the library: no Redis runs beside these tests, so a URL where
// nothing listens must refuse every keyed decision before anything is sent.
import Bitrix24Callback
import Foundation
import XCTest

/// Nothing listens on port 1 of the loopback interface.
private let unreachableRedis = "redis://127.0.0.1:1/0"

private func shared(_ url: String, prefix: String? = nil) -> ClientOptions {
    ClientOptions(timeout: 5, deadline: 10, userAgentSuffix: "swift-tests",
                  sharedState: url, sharedStatePrefix: prefix)
}

final class SharedStateTests: PortalTestCase {
    func testUnreachableSharedStateRefusesBeforeSending() throws {
        let client = try webhookClient(shared(unreachableRedis))
        let req = request(key: "form-1")
        let calls: [() throws -> Void] = [
            { _ = try client.startCallbackBlocking(request: req) },
            { _ = try client.checkCallbackBlocking(request: req) },
        ]
        for call in calls {
            let d = try expectError(.sharedStateUnavailable) { try call() }
            XCTAssertTrue(d.retrySafe, "retrySafe")
            XCTAssertEqual(d.httpStatus, nil, "httpStatus")
        }
        XCTAssertEqual(try Portal.requests().count, 0, "something reached the portal")
        XCTAssertEqual(try Portal.ledger().count, 0, "calls placed")
    }

    func testTheVariantCanBeCaught() throws {
        let client = try webhookClient(shared(unreachableRedis))
        do {
            _ = try client.startCallbackBlocking(request: request(key: "form-2"))
            XCTFail("started without its shared state")
        } catch CallbackError.SharedStateUnavailable(_, let retrySafe, _, _, _, _, _, _) {
            XCTAssertTrue(retrySafe, "retrySafe")
        }
    }

    func testAPrefixIsAcceptedWithTheUrl() throws {
        let client = try webhookClient(shared(unreachableRedis, prefix: "my-site:"))
        try expectError(.sharedStateUnavailable) { _ = try client.startCallbackBlocking(request: request(key: "form-3")) }
        let d = try expectError(.invalidRequest) {
            _ = try CallbackClient.webhook(url: Portal.webhookUrl, options: shared(unreachableRedis, prefix: "bad\nprefix"))
        }
        XCTAssertEqual(d.violations.map { "\($0.field) \($0.code)" }, ["sharedStatePrefix invalid_character"])
        XCTAssertEqual(try Portal.requests().count, 0, "something reached the portal")
    }

    func testABadUrlIsAnInvalidOption() throws {
        let d = try expectError(.invalidRequest) {
            _ = try CallbackClient.webhook(url: Portal.webhookUrl, options: shared("http://x"))
        }
        XCTAssertEqual(d.violations.map { "\($0.field) \($0.code)" }, ["sharedState invalid_url"])
        XCTAssertTrue(d.violations.allSatisfy { !$0.description.isEmpty }, "\(d.violations)")
    }

    func testThePasswordIsNeverShown() throws {
        let opts = shared("redis://:s3cretpw@127.0.0.1:1/0")
        for text in ["\(opts)", String(reflecting: opts)] {
            XCTAssertFalse(text.contains("s3cretpw"), "password in: \(text)")
        }
        let client = try webhookClient(opts)
        do {
            _ = try client.startCallbackBlocking(request: request(key: "form-4"))
            XCTFail("started without its shared state")
        } catch let error as CallbackError {
            XCTAssertEqual(variantCode(error), .sharedStateUnavailable, "variant")
            let text = "\(error) \(String(reflecting: error)) \(error.localizedDescription) \(error.details().description)"
            XCTAssertFalse(text.contains("s3cretpw"), "password in: \(text)")
        }
        // A URL refused as invalid is not repeated either.
        do {
            _ = try CallbackClient.webhook(url: Portal.webhookUrl, options: shared("redis://:s3cretpw@[::1"))
            XCTFail("accepted a bad URL")
        } catch let error as CallbackError {
            let d = error.details()
            XCTAssertEqual(d.violations.map { "\($0.field) \($0.code)" }, ["sharedState invalid_url"])
            let text = "\(error) \(String(reflecting: error)) \(error.localizedDescription) \(d.violations)"
            XCTAssertFalse(text.contains("s3cretpw"), "password in: \(text)")
        }
        XCTAssertEqual(try Portal.requests().count, 0, "something reached the portal")
    }
}
