// OAuth: refresh on expiry, rotated tokens handed to the app's TokenStore, store failures.
import Bitrix24Callback
import Foundation
import XCTest

final class RecordingStore: TokenStore, @unchecked Sendable {
    private let lock = NSLock()
    private var pairs: [TokenPair] = []
    var saved: [TokenPair] { lock.lock(); defer { lock.unlock() }; return pairs }
    func save(tokens: TokenPair) throws {
        lock.lock(); pairs.append(tokens); lock.unlock()
    }
}

final class FailingStore: TokenStore, @unchecked Sendable {
    func save(tokens: TokenPair) throws {
        throw TokenStoreError.Failed(reason: "disk full")
    }
}

struct SomeAppError: Error, CustomStringConvertible {
    var description: String { "SomeAppError: bug in the app" }
}

final class ThrowingStore: TokenStore, @unchecked Sendable {
    func save(tokens: TokenPair) throws {
        throw SomeAppError()
    }
}

final class OAuthTests: PortalTestCase {
    func credentials() throws -> OAuthCredentials {
        let grant = try Portal.issueTokens()
        return OAuthCredentials(clientId: Portal.oauthClientId, clientSecret: Portal.oauthClientSecret,
                                accessToken: grant.accessToken,
                                refreshToken: grant.refreshToken,
                                clientEndpoint: Portal.clientEndpoint, serverEndpoint: Portal.serverEndpoint)
    }

    func testRotatedTokensReachTheTokenStore() throws {
        let creds = try credentials()
        let store = RecordingStore()
        let client = try CallbackClient.oauth(credentials: creds, options: options(), tokenStore: store)
        _ = try client.linesBlocking()
        XCTAssertEqual(store.saved.count, 0, "no refresh while the token is valid")

        try Portal.expireTokens()
        let started = try client.startCallbackBlocking(request: request())
        XCTAssertTrue(started.callId != nil, "callId")
        XCTAssertEqual(store.saved.count, 1, "one rotation")
        let pair = try XCTUnwrap(store.saved.first, "the saved pair")
        XCTAssertTrue(pair.accessToken != creds.accessToken, "a new access token")
        XCTAssertTrue(pair.refreshToken != creds.refreshToken, "a new refresh token")
        XCTAssertTrue(!"\(pair)".contains(pair.accessToken) && !"\(pair)".contains(pair.refreshToken), "printed token: \(pair)")

        _ = try client.voicesBlocking()
        XCTAssertEqual(store.saved.count, 1, "the new token is in use")
        XCTAssertEqual(try Portal.ledger().count, 1, "calls placed")
    }

    func testTokenStoreFailureFailsTheCall() throws {
        let client = try CallbackClient.oauth(credentials: try credentials(), options: options(), tokenStore: FailingStore())
        try Portal.expireTokens()
        let d = try expectError(.authFailed) { _ = try client.linesBlocking() }
        XCTAssertTrue(d.description.contains("disk full"), d.description)
    }

    func testUnexpectedErrorInTheTokenStoreFailsTheCall() throws {
        let client = try CallbackClient.oauth(credentials: try credentials(), options: options(), tokenStore: ThrowingStore())
        try Portal.expireTokens()
        let d = try expectError(.authFailed) { _ = try client.linesBlocking() }
        // The error's type is reported, its (app-controlled) text is not.
        XCTAssertTrue(d.description.contains("SomeAppError"), d.description)
        XCTAssertFalse(d.description.contains("bug in the app"), d.description)
    }

    func testInvalidCredentialsAreRefusedUpFront() throws {
        let good = try credentials()
        let bad = OAuthCredentials(clientId: "", clientSecret: good.clientSecret, accessToken: good.accessToken,
                                   refreshToken: good.refreshToken, clientEndpoint: "not a url",
                                   serverEndpoint: good.serverEndpoint)
        try expectError(.invalidRequest) { _ = try CallbackClient.oauth(credentials: bad) }
    }
}
