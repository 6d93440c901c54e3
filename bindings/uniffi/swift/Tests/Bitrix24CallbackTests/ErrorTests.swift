// Every error family with its fields, and what printing values may (not) show.
import Bitrix24Callback
import Foundation
import XCTest

final class ErrorTests: PortalTestCase {
    let allCodes: [ErrorCode] = [
        .invalidRequest, .destinationBlocked, .rateLimited, .operationTimeLimit, .authFailed,
        .insufficientScope, .accessDenied, .lineNotFound, .numberRejected, .portalError,
        .transport, .sharedStateUnavailable, .outcomeUnknown,
    ]

    func testCodesHaveStableNames() throws {
        XCTAssertEqual(Set(allCodes.map { $0.asStr() }).count, 13, "distinct names")
        for code in allCodes {
            XCTAssertEqual(errorCodeFromStr(name: code.asStr()), code, code.asStr())
            XCTAssertEqual(code.retrySafe(), code != .outcomeUnknown, code.asStr())
        }
        XCTAssertEqual(ErrorCode.outcomeUnknown.asStr(), "outcome_unknown")
        XCTAssertEqual(ErrorCode.sharedStateUnavailable.asStr(), "shared_state_unavailable")
        XCTAssertEqual(errorCodeFromStr(name: "no_such_code"), nil)
    }

    func testInvalidRequestListsEveryViolation() throws {
        let client = try webhookClient()
        let d = try expectError(.invalidRequest) {
            _ = try client.startCallbackBlocking(request: CallbackRequest(fromLine: "", toNumber: "12", text: ""))
        }
        let fields = d.violations.map(\.field)
        XCTAssertTrue(fields.contains("FROM_LINE") && fields.contains("TO_NUMBER") && fields.contains("TEXT_TO_PRONOUNCE"), "\(fields)")
        XCTAssertTrue(d.violations.allSatisfy { !$0.code.isEmpty && !$0.description.isEmpty })
        XCTAssertEqual(d.httpStatus, nil, "httpStatus")
        XCTAssertEqual(d.bitrixCode, nil, "bitrixCode")
        XCTAssertEqual(try Portal.ledger().count, 0, "nothing sent")
        // The same through the free function, without a client.
        let v = try expectError(.invalidRequest) {
            _ = try validateRequest(request: CallbackRequest(fromLine: "reg1", toNumber: Magic.demo, text: "hi", voice: "nosuchvoice"))
        }
        XCTAssertEqual(v.violations.map(\.field), ["VOICE"], "fields")
    }

    func testBadWebhookAddressDoesNotEchoTheSecret() throws {
        do {
            _ = try CallbackClient.webhook(url: "ftp://portal.example/rest/1/s3cretvalue77/")
            XCTFail("accepted a bad webhook address")
        } catch let error as CallbackError {
            XCTAssertEqual(variantCode(error), .invalidRequest, "variant")
            XCTAssertTrue(error.details().violations.contains { $0.field == "webhook_url" }, "\(error.details().violations)")
            XCTAssertFalse("\(error) \(error.localizedDescription)".contains("s3cretvalue77"), "secret echoed")
        }
    }

    func testEveryBadOptionIsReportedAtOnce() throws {
        let bad = ClientOptions(timeout: 0, deadline: 0, rateLimit: .custom(burst: 0, perSecond: 1),
                                defaultRegion: "XX",
                                destinationPolicy: DestinationPolicy(allowedRegions: ["GB", "ZZ"]))
        let d = try expectError(.invalidRequest) {
            _ = try CallbackClient.webhook(url: Portal.webhookUrl, options: bad)
        }
        // One error, every option named as Swift spells it, in the order of the record.
        XCTAssertEqual(d.violations.map { "\($0.field) \($0.code)" }, [
            "timeout zero",
            "deadline zero",
            "rateLimit invalid",
            "defaultRegion unknown_region",
            "destinationPolicy.allowedRegions unknown_region",
        ])
        XCTAssertTrue(d.violations.allSatisfy { !$0.description.isEmpty }, "\(d.violations)")
    }

    func testDestinationBlockedByRegion() throws {
        let client = try webhookClient(options(policy: DestinationPolicy(allowedRegions: ["DE"])))
        let d = try expectError(.destinationBlocked) { _ = try client.startCallbackBlocking(request: request()) }
        XCTAssertEqual(d.httpStatus, nil, "httpStatus")
        XCTAssertEqual(try Portal.ledger().count, 0, "nothing sent")
    }

    func testDestinationBlockedByCooldown() throws {
        let client = try webhookClient()
        let number = Numbers.fresh()
        _ = try client.startCallbackBlocking(request: request(number))
        try expectError(.destinationBlocked) { _ = try client.startCallbackBlocking(request: request(number)) }
        XCTAssertEqual(try Portal.ledger().count, 1, "calls placed")
    }

    func testRateLimitedByThePortal() throws {
        try Portal.fault(.queryLimit, times: 1000)
        let client = try webhookClient(options(deadline: 2))
        let d = try expectError(.rateLimited) { _ = try client.startCallbackBlocking(request: request()) }
        XCTAssertEqual(d.bitrixCode, "QUERY_LIMIT_EXCEEDED", "bitrixCode")
        XCTAssertEqual(d.httpStatus, 503, "httpStatus")
        XCTAssertEqual(try Portal.ledger().count, 0, "nothing placed")
    }

    func testOperationTimeLimit() throws {
        try Portal.fault(.operationTimeLimit, times: 1000)
        let client = try webhookClient(options(deadline: 2))
        let d = try expectError(.operationTimeLimit) { _ = try client.startCallbackBlocking(request: request()) }
        XCTAssertEqual(d.bitrixCode, "OPERATION_TIME_LIMIT", "bitrixCode")
        XCTAssertEqual(d.httpStatus, 429, "httpStatus")
    }

    func testAuthFailedWithAWrongWebhookSecret() throws {
        var parts = Portal.webhookUrl.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        parts[parts.count - 1] = "wrongsecret0000000001"
        let client = try CallbackClient.webhook(url: parts.joined(separator: "/") + "/", options: options())
        do {
            _ = try client.linesBlocking()
            XCTFail("a wrong secret was accepted")
        } catch let error as CallbackError {
            XCTAssertEqual(variantCode(error), .authFailed, "variant")
            XCTAssertTrue(error.details().httpStatus != nil, "httpStatus")
            XCTAssertFalse("\(error)".contains("wrongsecret0000000001"), "secret echoed: \(error)")
        }
    }

    func testInsufficientScope() throws {
        try Portal.update(FakePortalOptions(webhookScopes: ["crm"]))
        defer { try? Portal.update(FakePortalOptions(webhookScopes: ["call", "telephony"])) }
        let client = try webhookClient()
        let d = try expectError(.insufficientScope) { _ = try client.startCallbackBlocking(request: request()) }
        XCTAssertEqual(d.bitrixCode, "insufficient_scope", "bitrixCode")
        XCTAssertTrue(d.httpStatus != nil, "httpStatus")
    }

    func testAccessDenied() throws {
        try Portal.update(FakePortalOptions(outgoingCallPermission: false))
        defer { try? Portal.update(FakePortalOptions(outgoingCallPermission: true)) }
        let client = try webhookClient()
        let d = try expectError(.accessDenied) { _ = try client.startCallbackBlocking(request: request()) }
        XCTAssertEqual(d.bitrixCode, "ACCESS_DENIED", "bitrixCode")
        XCTAssertEqual(d.httpStatus, 403, "httpStatus")
    }

    func testLineNotFound() throws {
        let client = try webhookClient()
        let d = try expectError(.lineNotFound) { _ = try client.startCallbackBlocking(request: request(line: "nosuchline")) }
        XCTAssertEqual(d.httpStatus, 400, "httpStatus")
        XCTAssertTrue(d.bitrixCode != nil, "bitrixCode")
        XCTAssertEqual(try Portal.ledger().count, 0, "nothing placed")
    }

    func testNumberRejectedIsClassified() throws {
        // The client validates numbers before sending, so the portal's own refusal is checked
        // through the classifier the client uses.
        let body = #"{"error":"ERROR_CORE","error_description":"Phone number is not correct"}"#
        let d = try XCTUnwrap(classifyResponse(httpStatus: 400, body: Data(body.utf8)), "classified")
        XCTAssertEqual(d.code, .numberRejected, "code")
        XCTAssertTrue(d.retrySafe)
        XCTAssertEqual(d.bitrixCode, "ERROR_CORE", "bitrixCode")
        XCTAssertEqual(d.httpStatus, 400, "httpStatus")
        let ok = #"{"result":{"RESULT":true,"CALL_ID":"x"}}"#
        XCTAssertEqual(classifyResponse(httpStatus: 200, body: Data(ok.utf8)), nil, "success")
    }

    func testPortalErrorOnOverload() throws {
        try Portal.fault(.overload, times: 1000)
        let client = try webhookClient(options(deadline: 2))
        let d = try expectError(.portalError) { _ = try client.startCallbackBlocking(request: request()) }
        XCTAssertEqual(d.bitrixCode, "OVERLOAD_LIMIT", "bitrixCode")
        XCTAssertEqual(d.httpStatus, 503, "httpStatus")
    }

    func testTransportWhenNothingListens() throws {
        // Port 9 (discard) on loopback: nothing listens there on a test machine.
        let client = try CallbackClient.webhook(url: "http://127.0.0.1:9/rest/1/abcdefghijklmnop/", options: options())
        let d = try expectError(.transport) { _ = try client.linesBlocking() }
        XCTAssertEqual(d.httpStatus, nil, "httpStatus")
        XCTAssertFalse(d.description.contains("abcdefghijklmnop"), "secret echoed")
    }

    func testOutcomeUnknownWhenTheConnectionDrops() throws {
        try Portal.fault(.closeAfterExecute)
        let client = try webhookClient()
        let d = try expectError(.outcomeUnknown) { _ = try client.startCallbackBlocking(request: request()) }
        XCTAssertFalse(d.retrySafe)
        XCTAssertEqual(try Portal.ledger().count, 1, "the portal did place the call")
    }

    func testOutcomeUnknownOnHtml502AndControllerFailure() throws {
        try Portal.fault(.html502)
        let client = try webhookClient()
        let d = try expectError(.outcomeUnknown) { _ = try client.startCallbackBlocking(request: request()) }
        XCTAssertEqual(d.httpStatus, 502, "httpStatus")
        try expectError(.outcomeUnknown) { _ = try client.startCallbackBlocking(request: request(Magic.controllerFailure)) }
    }

    func testPrintedValuesHideSecretsAndNumbers() throws {
        let creds = OAuthCredentials(clientId: "local.app.1", clientSecret: "clientsecretXYZ",
                                     accessToken: "accessTOKEN123", refreshToken: "refreshTOKEN456",
                                     clientEndpoint: "https://p.example/rest/",
                                     serverEndpoint: "https://oauth.example/rest/")
        let pair = TokenPair(accessToken: "accessTOKEN123", refreshToken: "refreshTOKEN456",
                             expiresIn: 3600, expiresAt: nil, clientEndpoint: nil, serverEndpoint: nil)
        for text in ["\(creds)", String(reflecting: creds), "\(pair)", String(reflecting: pair)] {
            for secret in ["clientsecretXYZ", "accessTOKEN123", "refreshTOKEN456"] {
                XCTAssertFalse(text.contains(secret), "leak in: \(text)")
            }
        }
        XCTAssertTrue("\(creds)".contains("local.app.1"))
        let req = request(Magic.demo)
        XCTAssertFalse("\(req)".contains("2015550123"), "number in: \(req)")
        let validated = try validateRequest(request: req)
        XCTAssertFalse("\(validated)".contains("2015550123"), "number in: \(validated)")
        XCTAssertEqual(validated.toNumber, Magic.demo, "toNumber")
    }

    /// The README's catch clauses: a specific variant first, then any CallbackError.
    func testReadmeCatchClauses() throws {
        try Portal.fault(.closeAfterExecute)
        let client = try webhookClient()
        var seen: [String] = []
        for req in [request(), request(line: "nosuchline")] {
            do {
                _ = try client.startCallbackBlocking(request: req)
            } catch CallbackError.OutcomeUnknown {
                seen.append("do not resend")
            } catch let error as CallbackError {
                let d = error.details()
                seen.append("\(d.code.asStr()) \(d.retrySafe)")
            }
        }
        XCTAssertEqual(seen, ["do not resend", "line_not_found true"], "caught")
    }
}
