// Leaks: with a known webhook secret, OAuth tokens, client secret, application token and full
// numbers in play, every error path (each fault, each refusal, refresh failures, a throwing
// TokenStore, event verification failures) is driven, and no error text, description,
// debugDescription or localizedDescription of any error or record shows any of them.
import Bitrix24Callback
import Foundation
import XCTest

/// A TokenStore that notes every rotated pair (they join the secrets) and may throw.
final class NotingStore: TokenStore, @unchecked Sendable {
    let note: (TokenPair) -> Void
    let failure: Error?
    init(failure: Error? = nil, note: @escaping (TokenPair) -> Void) {
        self.failure = failure
        self.note = note
    }
    func save(tokens: TokenPair) throws {
        note(tokens)
        if let failure { throw failure }
    }
}

/// An app error that quotes the token it could not store (only its type may be kept).
struct QuotingError: Error, CustomStringConvertible {
    let token: String
    var description: String { "cannot store \(token)" }
}

final class LeakTests: PortalTestCase {
    private let lock = NSLock()
    private var secrets: Set<String> = []
    private var texts: [(String, String)] = []
    private var errors = 0

    override func setUpWithError() throws {
        try super.setUpWithError()
        // Many requests per test: no pacing on either side (the pacing errors come from faults).
        try Portal.update(FakePortalOptions(burst: 10_000))
        secret(Portal.webhookSecret)
        secret(Portal.oauthClientSecret)
    }

    override func tearDown() {
        try? Portal.update(FakePortalOptions(burst: 50))
        super.tearDown()
    }

    private func secret(_ s: String) {
        lock.lock(); defer { lock.unlock() }
        if !s.isEmpty { secrets.insert(s) }
    }

    private func note(_ pair: TokenPair) {
        secret(pair.accessToken)
        secret(pair.refreshToken)
    }

    /// A fresh number; its national digits join the secrets.
    private func number() -> String {
        let n = Numbers.fresh()
        secret(String(n.dropFirst(2)))
        return n
    }

    private func seen(_ whereFrom: String, _ value: Any) {
        lock.lock(); defer { lock.unlock() }
        texts.append(("\(whereFrom): description", "\(value)"))
        texts.append(("\(whereFrom): debugDescription", String(reflecting: value)))
    }

    /// Runs `body`; its error (or its result) goes into the texts checked at the end.
    private func drive(_ whereFrom: String, _ body: () throws -> Any) {
        do {
            seen("\(whereFrom): result", try body())
        } catch {
            errors += 1
            seen("\(whereFrom): error", error)
            seen("\(whereFrom): localizedDescription", error.localizedDescription)
            if let e = error as? CallbackError {
                seen("\(whereFrom): details", e.details())
                seen("\(whereFrom): violations", e.details().violations)
            }
        }
    }

    private func assertNoLeaks(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertGreaterThan(errors, 0, file: file, line: line)
        let found = texts.flatMap { (w, text) in secrets.filter { text.contains($0) }.map { "\(w) shows \($0.prefix(4))..." } }
        XCTAssertTrue(found.isEmpty, "secrets shown in \(found.count) texts, e.g. \(found.prefix(5))", file: file, line: line)
    }

    private func options(deadline: TimeInterval = 10, timeout: TimeInterval = 5,
                         policy: DestinationPolicy? = nil) -> ClientOptions {
        ClientOptions(timeout: timeout, deadline: deadline, rateLimit: .off, userAgentSuffix: "swift-tests",
                      destinationPolicy: policy)
    }

    private let faults: [FakeFaultKind] = [
        .delay(duration: 3),
        .closeBeforeExecute,
        .closeAfterExecute,
        .html502,
        .html504,
        .truncatedJson,
        .overload,
        .queryLimit,
        .operationTimeLimit,
        // Portals and proxies that echo what they were sent: the path holds the webhook secret
        // and the query the OAuth token.
        .respond(status: 400, body: #"{"error":"ERROR_X","error_description":"bad request {path}"}"#, contentType: nil, execute: false),
        .respond(status: 500, body: "<html>upstream failed for {path}</html>", contentType: "text/html", execute: false),
        .respond(status: 200, body: #"{"result":{"RESULT":true},"error":"HALF {path}"}"#, contentType: nil, execute: true),
        .respond(status: 401, body: #"{"error":"expired_token","error_description":"token of {path} expired"}"#, contentType: nil, execute: false),
        .redirect(status: 302, location: "http://elsewhere.invalid{path}", execute: false),
        .redirect(status: 303, location: "{scheme}://127.0.0.1:{port}{path}", execute: true),
        .rename,
    ]

    private func credentials() -> OAuthCredentials {
        let c = Portal.fake.issueOauthCredentials()
        secret(c.accessToken)
        secret(c.refreshToken)
        seen("credentials", c)
        return c
    }

    func testEveryFaultOfAWebhookClient() throws {
        let client = try webhookClient(options(deadline: 1, timeout: 0.5))
        for kind in faults {
            Portal.fake.clearFaults()
            try Portal.fault(kind, times: 100, method: nil)
            let n = number()
            drive("start with \(kind)") { try client.startCallbackBlocking(request: request(n, key: "leak-\(n.suffix(4))")) }
            drive("lines with \(kind)") { try client.linesBlocking() }
        }
        Portal.fake.clearFaults()
        assertNoLeaks()
    }

    func testEveryFaultOfAnOAuthClientAndEveryRefreshFailure() throws {
        let client = try CallbackClient.oauth(credentials: credentials(), options: options(deadline: 1, timeout: 0.5),
                                              tokenStore: NotingStore { [weak self] in self?.note($0) })
        for kind in faults {
            Portal.fake.clearFaults()
            try Portal.fault(kind, times: 100, method: nil)
            drive("oauth start with \(kind)") { try client.startCallbackBlocking(request: request(number())) }
            drive("oauth lines with \(kind)") { try client.linesBlocking() }
        }
        for kind in faults {
            Portal.fake.clearFaults()
            Portal.fake.expireAccessTokens()
            try Portal.fault(kind, times: 100, method: "oauth.token")
            drive("refresh with \(kind)") { try client.linesBlocking() }
        }
        Portal.fake.clearFaults()
        // A refresh token used up by another client: invalid_grant.
        let creds = credentials()
        let first = try CallbackClient.oauth(credentials: creds, options: options(),
                                             tokenStore: NotingStore { [weak self] in self?.note($0) })
        try Portal.expireTokens()
        _ = try first.linesBlocking()
        let second = try CallbackClient.oauth(credentials: creds, options: options())
        drive("a used refresh token") { try second.linesBlocking() }
        // A wrong client secret.
        let good = credentials()
        secret("wrongclientsecret77")
        let wrong = OAuthCredentials(clientId: good.clientId, clientSecret: "wrongclientsecret77",
                                     accessToken: good.accessToken, refreshToken: good.refreshToken,
                                     clientEndpoint: good.clientEndpoint, serverEndpoint: good.serverEndpoint)
        let client3 = try CallbackClient.oauth(credentials: wrong, options: options())
        try Portal.expireTokens()
        drive("a wrong client secret") { try client3.linesBlocking() }
        assertNoLeaks()
    }

    func testAThrowingTokenStore() throws {
        let failing = NotingStore(failure: TokenStoreError.Failed(reason: "the keychain is locked")) { [weak self] in self?.note($0) }
        nonisolated(unsafe) var last = ""
        let quoting = NotingStore(failure: nil) { [weak self] pair in
            self?.note(pair)
            last = pair.accessToken
        }
        // An app whose error quotes the token: only the error's type is kept.
        final class QuotingStore: TokenStore, @unchecked Sendable {
            let inner: NotingStore
            init(_ inner: NotingStore) { self.inner = inner }
            func save(tokens: TokenPair) throws {
                try inner.save(tokens: tokens)
                throw QuotingError(token: tokens.accessToken + " " + tokens.refreshToken)
            }
        }
        for (name, store) in [("failing", failing as TokenStore), ("quoting", QuotingStore(quoting))] {
            let client = try CallbackClient.oauth(credentials: credentials(), options: options(), tokenStore: store)
            try Portal.expireTokens()
            drive("\(name) store, start") { try client.startCallbackBlocking(request: request(number())) }
            try Portal.expireTokens()
            drive("\(name) store, lines") { try client.linesBlocking() }
        }
        XCTAssertFalse(last.isEmpty, "the quoting store was called")
        assertNoLeaks()
    }

    func testEveryRefusal() throws {
        let policy = DestinationPolicy(blockedRegions: ["CA"], blockedPrefixes: ["+1212"], numberHourlyCap: 1)
        let client = try webhookClient(options(policy: policy))
        let refused = ["+39 0878 123 45", "+1 212 555 0142", "+1 613 555 0142", "+1 876 555 0142",
                       "+882 1234 5678 90", "+1201555012345678", "+1 201 555 01", "12015550142"]
        for n in refused {
            let digits = n.filter(\.isNumber)
            if digits.count >= 9 { secret(String(digits.dropFirst(3))) }
            drive("refusal of \(n.prefix(4))") { try client.startCallbackBlocking(request: request(n)) }
            drive("check of \(n.prefix(4))") { try client.checkCallbackBlocking(request: request(n)) }
            drive("validation of \(n.prefix(4))") { try validateRequest(request: request(n)) }
        }
        let n = number()
        drive("first call") { try client.startCallbackBlocking(request: request(n, key: "leak-key-1")) }
        drive("cooldown") { try client.startCallbackBlocking(request: request(n)) }
        drive("key reused") { try client.startCallbackBlocking(request: request(self.number(), key: "leak-key-1")) }
        drive("bad request") {
            try client.startCallbackBlocking(request: CallbackRequest(fromLine: "", toNumber: self.number(), text: ""))
        }
        let capped = try webhookClient(options(policy: DestinationPolicy(numberCooldown: 0, numberHourlyCap: 1)))
        let m = number()
        drive("cap, first") { try capped.startCallbackBlocking(request: request(m)) }
        drive("cap") { try capped.startCallbackBlocking(request: request(m)) }
        secret("redispassword99")
        drive("bad options") {
            try CallbackClient.webhook(url: Portal.webhookUrl, options: ClientOptions(timeout: 0, defaultRegion: "XX"))
        }
        drive("bad webhook") { try CallbackClient.webhook(url: "http://example.com/rest/1/\(Portal.webhookSecret)/") }
        let shared = ClientOptions(timeout: 5, deadline: 10, rateLimit: .off, userAgentSuffix: "swift-tests",
                                   sharedState: "redis://:redispassword99@127.0.0.1:1/0")
        seen("shared options", shared)
        let sharedClient = try webhookClient(shared)
        drive("shared state down") { try sharedClient.startCallbackBlocking(request: request(self.number(), key: "leak-shared")) }
        assertNoLeaks()
    }

    func testEveryEventFailure() throws {
        let appToken = "leakapplicationtoken0042"
        secret(appToken)
        try Portal.update(FakePortalOptions(applicationToken: appToken, eventHandler: "http://127.0.0.1:1/events"))
        defer { try? Portal.update(FakePortalOptions(applicationToken: "fakeapplicationtoken0001", eventHandler: "")) }
        let client = try webhookClient()
        let n = number()
        let started = try client.startCallbackBlocking(request: request(n))
        seen("started", started)
        XCTAssertTrue(eventually(10) { Portal.fake.events().contains { $0.event == "ONVOXIMPLANTCALLEND" } })
        for event in Portal.fake.events() {
            seen("fake event", event)
            let body = Data(event.body.utf8)
            drive("parsed event") { try parseEvent(body: body, expectedApplicationToken: appToken) }
            drive("wrong token") { try parseEvent(body: body, expectedApplicationToken: "another-token") }
            drive("empty token") { try parseEvent(body: body, expectedApplicationToken: "") }
            drive("truncated body") { try parseEvent(body: body.prefix(body.count / 2), expectedApplicationToken: appToken) }
            drive("garbage body") { try parseEvent(body: Data("%%%\(appToken)&&&==\(n)".utf8), expectedApplicationToken: appToken) }
        }
        drive("record") { try client.waitForOutcomeBlocking(callId: started.callId ?? "", timeout: 10) as Any }
        assertNoLeaks()
    }

    func testEveryRecordPrintsRedacted() throws {
        let creds = credentials()
        let n = number()
        seen("request", request(n))
        seen("validated", try validateRequest(request: request(n)))
        let client = try webhookClient()
        seen("destination", try client.checkCallbackBlocking(request: request(n)))
        let started = try client.startCallbackBlocking(request: request(n))
        seen("started", started)
        seen("record", try client.waitForOutcomeBlocking(callId: started.callId ?? "", timeout: 10) as Any)
        seen("call state", Portal.fake.call(callId: started.callId ?? "") as Any)
        seen("pair", TokenPair(accessToken: creds.accessToken, refreshToken: creds.refreshToken, expiresIn: 3600,
                               expiresAt: nil, clientEndpoint: nil, serverEndpoint: nil))
        let tokens = try Portal.issueTokens()
        secret(tokens.accessToken)
        secret(tokens.refreshToken)
        seen("fake tokens", tokens)
        seen("fake calls", try Portal.ledger())
        seen("fake requests", try Portal.requests())
        seen("fake options", FakePortalOptions(webhookSecret: Portal.webhookSecret, oauthClientSecret: Portal.oauthClientSecret))
        errors += 1 // this test checks records only
        assertNoLeaks()
    }
}
