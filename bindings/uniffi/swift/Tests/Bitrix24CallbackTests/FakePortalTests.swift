// The fake portal in the box (FakePortal, the testing build's): what an app's own tests use.
import Bitrix24Callback
import Foundation
import XCTest

final class FakePortalTests: XCTestCase {
    func testAPortalOfItsOwnWithTlsLinesAndOAuth() async throws {
        XCTAssertTrue(fakePortalAvailable())
        let portal = try FakePortal.start(options: FakePortalOptions(
            tls: true, stageDuration: 0.05, lines: [FakeLine(id: "sales", name: "Sales & <Support>")]))
        defer { portal.stop() }
        XCTAssertTrue(portal.baseUrl().hasPrefix("https://127.0.0.1:"))
        let ca = try XCTUnwrap(portal.caPem())
        let client = try CallbackClient.webhook(url: portal.webhookUrl(), options: ClientOptions(rootCertificates: [ca]))
        let lines = try await client.lines()
        XCTAssertEqual(lines.map { "\($0.id) \($0.name)" }, ["sales Sales & <Support>"])
        let started = try await client.startCallback(request: request(line: "sales"))
        let callId = try XCTUnwrap(started.callId)
        let waited = try await client.waitForOutcome(callId: callId, timeout: 10)
        XCTAssertEqual(try XCTUnwrap(waited).callId, callId)
        XCTAssertEqual(portal.call(callId: callId)?.stage, "ended")
        XCTAssertEqual(portal.ledger().count, 1)
        XCTAssertEqual(portal.stats().callsPlaced, 1)

        let oauth = try CallbackClient.oauth(credentials: portal.issueOauthCredentials(),
                                             options: ClientOptions(rootCertificates: [ca]))
        portal.expireAccessTokens()
        let voices = try await oauth.voices()
        XCTAssertFalse(voices.isEmpty)
        XCTAssertEqual(portal.stats().refreshes, 1)

        portal.update(options: FakePortalOptions(lineListPermission: false))
        do {
            _ = try await client.lines()
            XCTFail("lines were listed without the permission")
        } catch CallbackError.AccessDenied {
        }
        portal.reset()
        XCTAssertEqual(portal.ledger().count, 0)
    }

    func testBadFaultsAreRefusedAndAStoppedPortalIsEmpty() throws {
        let portal = try FakePortal.start()
        XCTAssertThrowsError(try portal.addFault(fault: FakeFault(kind: .respond(status: 700, body: "{}", contentType: nil, execute: false)))) { error in
            guard case FakePortalError.Failed(let reason) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("700"), reason)
        }
        let url = portal.webhookUrl()
        XCTAssertTrue(portal.isRunning())
        portal.stop()
        XCTAssertFalse(portal.isRunning())
        XCTAssertEqual(portal.webhookUrl(), url)
        XCTAssertTrue(portal.ledger().isEmpty)
    }
}
