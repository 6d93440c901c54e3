// Every error family with its fields, and what printing values may (not) show.
import Bitrix24Callback
import Foundation

enum ErrorTests {
    static let all: [(String, () throws -> Void)] = [
        ("errors.codesHaveStableNames", codesHaveStableNames),
        ("errors.invalidRequestListsEveryViolation", invalidRequestListsEveryViolation),
        ("errors.badWebhookAddressDoesNotEchoTheSecret", badWebhookAddressDoesNotEchoTheSecret),
        ("errors.destinationBlockedByRegion", destinationBlockedByRegion),
        ("errors.destinationBlockedByCooldown", destinationBlockedByCooldown),
        ("errors.rateLimitedByThePortal", rateLimitedByThePortal),
        ("errors.operationTimeLimit", operationTimeLimit),
        ("errors.authFailedWithAWrongWebhookSecret", authFailedWithAWrongWebhookSecret),
        ("errors.insufficientScope", insufficientScope),
        ("errors.accessDenied", accessDenied),
        ("errors.lineNotFound", lineNotFound),
        ("errors.numberRejectedIsClassified", numberRejectedIsClassified),
        ("errors.portalErrorOnOverload", portalErrorOnOverload),
        ("errors.transportWhenNothingListens", transportWhenNothingListens),
        ("errors.outcomeUnknownWhenTheConnectionDrops", outcomeUnknownWhenTheConnectionDrops),
        ("errors.outcomeUnknownOnHtml502AndControllerFailure", outcomeUnknownOnHtml502AndControllerFailure),
        ("errors.printedValuesHideSecretsAndNumbers", printedValuesHideSecretsAndNumbers),
        ("errors.readmeCatchClauses", readmeCatchClauses),
    ]

    static let allCodes: [ErrorCode] = [
        .invalidRequest, .destinationBlocked, .rateLimited, .operationTimeLimit, .authFailed,
        .insufficientScope, .accessDenied, .lineNotFound, .numberRejected, .portalError,
        .transport, .outcomeUnknown,
    ]

    static func codesHaveStableNames() throws {
        try checkEqual(Set(allCodes.map { $0.asStr() }).count, 12, "distinct names")
        for code in allCodes {
            try checkEqual(errorCodeFromStr(name: code.asStr()), code, code.asStr())
            try checkEqual(code.retrySafe(), code != .outcomeUnknown, code.asStr())
        }
        try checkEqual(ErrorCode.outcomeUnknown.asStr(), "outcome_unknown")
        try checkEqual(errorCodeFromStr(name: "no_such_code"), nil)
    }

    static func invalidRequestListsEveryViolation() throws {
        let client = try webhookClient()
        let d = try expectError(.invalidRequest) {
            _ = try client.startCallback(request: CallbackRequest(fromLine: "", toNumber: "12", text: ""))
        }
        let fields = d.violations.map(\.field)
        try check(fields.contains("FROM_LINE") && fields.contains("TO_NUMBER") && fields.contains("TEXT_TO_PRONOUNCE"), "\(fields)")
        try check(d.violations.allSatisfy { !$0.code.isEmpty && !$0.description.isEmpty })
        try checkEqual(d.httpStatus, nil, "httpStatus")
        try checkEqual(d.bitrixCode, nil, "bitrixCode")
        try checkEqual(try Portal.ledger().count, 0, "nothing sent")
        // The same through the free function, without a client.
        let v = try expectError(.invalidRequest) {
            _ = try validateRequest(request: CallbackRequest(fromLine: "reg1", toNumber: "+447700900123", text: "hi", voice: "nosuchvoice"))
        }
        try checkEqual(v.violations.map(\.field), ["VOICE"], "fields")
    }

    static func badWebhookAddressDoesNotEchoTheSecret() throws {
        do {
            _ = try CallbackClient.webhook(url: "ftp://portal.example/rest/1/s3cretvalue77/")
            throw TestFailure(description: "accepted a bad webhook address")
        } catch let error as CallbackError {
            try checkEqual(variantCode(error), .invalidRequest, "variant")
            try check(error.details().violations.contains { $0.field == "webhook_url" }, "\(error.details().violations)")
            try check(!"\(error) \(error.localizedDescription)".contains("s3cretvalue77"), "secret echoed")
        }
    }

    static func destinationBlockedByRegion() throws {
        let client = try webhookClient(options(policy: DestinationPolicy(allowedRegions: ["DE"])))
        let d = try expectError(.destinationBlocked) { _ = try client.startCallback(request: request()) }
        try checkEqual(d.httpStatus, nil, "httpStatus")
        try checkEqual(try Portal.ledger().count, 0, "nothing sent")
    }

    static func destinationBlockedByCooldown() throws {
        let client = try webhookClient()
        let number = Numbers.fresh()
        _ = try client.startCallback(request: request(number))
        try expectError(.destinationBlocked) { _ = try client.startCallback(request: request(number)) }
        try checkEqual(try Portal.ledger().count, 1, "calls placed")
    }

    static func rateLimitedByThePortal() throws {
        try Portal.fault("query_limit", times: 1000)
        let client = try webhookClient(options(deadline: 2))
        let d = try expectError(.rateLimited) { _ = try client.startCallback(request: request()) }
        try checkEqual(d.bitrixCode, "QUERY_LIMIT_EXCEEDED", "bitrixCode")
        try checkEqual(d.httpStatus, 503, "httpStatus")
        try checkEqual(try Portal.ledger().count, 0, "nothing placed")
    }

    static func operationTimeLimit() throws {
        try Portal.fault("operation_time_limit", times: 1000)
        let client = try webhookClient(options(deadline: 2))
        let d = try expectError(.operationTimeLimit) { _ = try client.startCallback(request: request()) }
        try checkEqual(d.bitrixCode, "OPERATION_TIME_LIMIT", "bitrixCode")
        try checkEqual(d.httpStatus, 429, "httpStatus")
    }

    static func authFailedWithAWrongWebhookSecret() throws {
        var parts = Portal.webhookUrl.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        parts[parts.count - 1] = "wrongsecret0000000001"
        let client = try CallbackClient.webhook(url: parts.joined(separator: "/") + "/", options: options())
        do {
            _ = try client.lines()
            throw TestFailure(description: "a wrong secret was accepted")
        } catch let error as CallbackError {
            try checkEqual(variantCode(error), .authFailed, "variant")
            try check(error.details().httpStatus != nil, "httpStatus")
            try check(!"\(error)".contains("wrongsecret0000000001"), "secret echoed: \(error)")
        }
    }

    static func insufficientScope() throws {
        try Portal.config(["webhook_scopes": ["crm"]])
        defer { try? Portal.config(["webhook_scopes": ["call", "telephony"]]) }
        let client = try webhookClient()
        let d = try expectError(.insufficientScope) { _ = try client.startCallback(request: request()) }
        try checkEqual(d.bitrixCode, "insufficient_scope", "bitrixCode")
        try check(d.httpStatus != nil, "httpStatus")
    }

    static func accessDenied() throws {
        try Portal.config(["outgoing_call_permission": false])
        defer { try? Portal.config(["outgoing_call_permission": true]) }
        let client = try webhookClient()
        let d = try expectError(.accessDenied) { _ = try client.startCallback(request: request()) }
        try checkEqual(d.bitrixCode, "ACCESS_DENIED", "bitrixCode")
        try checkEqual(d.httpStatus, 403, "httpStatus")
    }

    static func lineNotFound() throws {
        let client = try webhookClient()
        let d = try expectError(.lineNotFound) { _ = try client.startCallback(request: request(line: "nosuchline")) }
        try checkEqual(d.httpStatus, 400, "httpStatus")
        try check(d.bitrixCode != nil, "bitrixCode")
        try checkEqual(try Portal.ledger().count, 0, "nothing placed")
    }

    static func numberRejectedIsClassified() throws {
        // The client validates numbers before sending, so the portal's own refusal is checked
        // through the classifier the client uses.
        let body = #"{"error":"ERROR_CORE","error_description":"Phone number is not correct"}"#
        let d = try unwrap(classifyResponse(httpStatus: 400, body: Data(body.utf8)), "classified")
        try checkEqual(d.code, .numberRejected, "code")
        try check(d.retrySafe)
        try checkEqual(d.bitrixCode, "ERROR_CORE", "bitrixCode")
        try checkEqual(d.httpStatus, 400, "httpStatus")
        let ok = #"{"result":{"RESULT":true,"CALL_ID":"x"}}"#
        try checkEqual(classifyResponse(httpStatus: 200, body: Data(ok.utf8)), nil, "success")
    }

    static func portalErrorOnOverload() throws {
        try Portal.fault("overload", times: 1000)
        let client = try webhookClient(options(deadline: 2))
        let d = try expectError(.portalError) { _ = try client.startCallback(request: request()) }
        try checkEqual(d.bitrixCode, "OVERLOAD_LIMIT", "bitrixCode")
        try checkEqual(d.httpStatus, 503, "httpStatus")
    }

    static func transportWhenNothingListens() throws {
        // Port 9 (discard) on loopback: nothing listens there on a test machine.
        let client = try CallbackClient.webhook(url: "http://127.0.0.1:9/rest/1/abcdefghijklmnop/", options: options())
        let d = try expectError(.transport) { _ = try client.lines() }
        try checkEqual(d.httpStatus, nil, "httpStatus")
        try check(!d.description.contains("abcdefghijklmnop"), "secret echoed")
    }

    static func outcomeUnknownWhenTheConnectionDrops() throws {
        try Portal.fault("close_after_execute", times: 1)
        let client = try webhookClient()
        let d = try expectError(.outcomeUnknown) { _ = try client.startCallback(request: request()) }
        try check(!d.retrySafe)
        try checkEqual(try Portal.ledger().count, 1, "the portal did place the call")
    }

    static func outcomeUnknownOnHtml502AndControllerFailure() throws {
        try Portal.fault("html_502", times: 1)
        let client = try webhookClient()
        let d = try expectError(.outcomeUnknown) { _ = try client.startCallback(request: request()) }
        try checkEqual(d.httpStatus, 502, "httpStatus")
        try expectError(.outcomeUnknown) { _ = try client.startCallback(request: request("+447700900006")) }
    }

    static func printedValuesHideSecretsAndNumbers() throws {
        let creds = OAuthCredentials(clientId: "local.app.1", clientSecret: "clientsecretXYZ",
                                     accessToken: "accessTOKEN123", refreshToken: "refreshTOKEN456",
                                     clientEndpoint: "https://p.example/rest/",
                                     serverEndpoint: "https://oauth.example/rest/")
        let pair = TokenPair(accessToken: "accessTOKEN123", refreshToken: "refreshTOKEN456",
                             expiresIn: 3600, expiresAt: nil, clientEndpoint: nil, serverEndpoint: nil)
        for text in ["\(creds)", String(reflecting: creds), "\(pair)", String(reflecting: pair)] {
            for secret in ["clientsecretXYZ", "accessTOKEN123", "refreshTOKEN456"] {
                try check(!text.contains(secret), "leak in: \(text)")
            }
        }
        try check("\(creds)".contains("local.app.1"))
        let req = request("+447700900123")
        try check(!"\(req)".contains("447700900123"), "number in: \(req)")
        let validated = try validateRequest(request: req)
        try check(!"\(validated)".contains("447700900123"), "number in: \(validated)")
        try checkEqual(validated.toNumber, "+447700900123", "toNumber")
    }

    /// The README's catch clauses: a specific variant first, then any CallbackError.
    static func readmeCatchClauses() throws {
        try Portal.fault("close_after_execute", times: 1)
        let client = try webhookClient()
        var seen: [String] = []
        for req in [request(), request(line: "nosuchline")] {
            do {
                _ = try client.startCallback(request: req)
            } catch CallbackError.OutcomeUnknown {
                seen.append("do not resend")
            } catch let error as CallbackError {
                let d = error.details()
                seen.append("\(d.code.asStr()) \(d.retrySafe)")
            }
        }
        try checkEqual(seen, ["do not resend", "line_not_found true"], "caught")
    }
}
