// CallbackClient.fromEnv: the command line's variables, the app's own options on top.
import Bitrix24Callback
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

final class FromEnvTests: PortalTestCase {
    let names = ["BITRIX24_WEBHOOK_URL", "BITRIX24_CLIENT_ID", "BITRIX24_DEFAULT_REGION", "BITRIX24_TIMEOUT",
                 "BITRIX24_ALLOWED_REGIONS"]

    override func setUpWithError() throws {
        try super.setUpWithError()
        for name in names { unsetenv(name) }
    }

    override func tearDown() {
        for name in names { unsetenv(name) }
        super.tearDown()
    }

    func testWithoutAnyVariableTheWebhookIsMissing() throws {
        let d = try expectError(.invalidRequest) { _ = try CallbackClient.fromEnv() }
        XCTAssertEqual(d.violations.map(\.field), ["BITRIX24_WEBHOOK_URL"])
    }

    func testTheVariablesConfigureTheClient() throws {
        setenv("BITRIX24_WEBHOOK_URL", Portal.webhookUrl, 1)
        setenv("BITRIX24_DEFAULT_REGION", "US", 1)
        setenv("BITRIX24_ALLOWED_REGIONS", "US,CA", 1)
        let client = try CallbackClient.fromEnv()
        let number = Numbers.fresh()
        let national = String(number.dropFirst(2))
        XCTAssertEqual(try client.validate(request: request(national)).toNumber, number)
        _ = try client.startCallbackBlocking(request: request(national))
        XCTAssertEqual(try Portal.ledger().count, 1)
        try expectError(.destinationBlocked) { _ = try client.checkCallbackBlocking(request: request("+44 20 7946 0000")) }
    }

    func testExplicitOptionsOverrideTheVariables() throws {
        setenv("BITRIX24_WEBHOOK_URL", Portal.webhookUrl, 1)
        setenv("BITRIX24_DEFAULT_REGION", "XX", 1)
        let d = try expectError(.invalidRequest) { _ = try CallbackClient.fromEnv() }
        XCTAssertEqual(d.violations.map(\.field), ["BITRIX24_DEFAULT_REGION"])
        let client = try CallbackClient.fromEnv(options: ClientOptions(userAgentSuffix: "swift-env", defaultRegion: "GB"))
        XCTAssertEqual(try client.validate(request: request("020 7946 0000")).toNumber, "+442079460000")
        _ = try client.linesBlocking()
        let agent = try Portal.requests().last?.userAgent ?? ""
        XCTAssertTrue(agent.hasSuffix(") swift-env"), agent)
        setenv("BITRIX24_DEFAULT_REGION", "US", 1)
        let bad = try expectError(.invalidRequest) { _ = try CallbackClient.fromEnv(options: ClientOptions(deadline: 0)) }
        XCTAssertEqual(bad.violations.map(\.field), ["deadline"])
        setenv("BITRIX24_TIMEOUT", "soon", 1)
        let unreadable = try expectError(.invalidRequest) { _ = try CallbackClient.fromEnv() }
        XCTAssertEqual(unreadable.violations.map(\.field), ["BITRIX24_TIMEOUT"])
    }
}
