// Telephony events end to end: the fake portal POSTs its events to a handler in this process
// (a minimal HTTP listener on a POSIX socket), and parseEvent verifies and reads them.
import Bitrix24Callback
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Accepts HTTP POSTs on 127.0.0.1 and keeps their bodies.
final class EventSink: @unchecked Sendable {
    private let fd: Int32
    private(set) var port: UInt16 = 0
    private let lock = NSLock()
    private var bodies: [String] = []

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else {
            throw TestFailure(description: "cannot listen on 127.0.0.1")
        }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: addr.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            serve(client)
        }
    }

    /// Reads one request (headers, then Content-Length bytes of body), answers 200, closes.
    private func serve(_ client: Int32) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var headLength: Int?
        var bodyLength = 0
        while headLength.map({ data.count < $0 + bodyLength }) ?? true {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { break }
            data += buffer[0..<n]
            if headLength == nil, let end = Self.headerEnd(data) {
                headLength = end
                let head = String(decoding: data[0..<end], as: UTF8.self).lowercased()
                bodyLength = head.split(separator: "\r\n")
                    .first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            }
        }
        if let headLength, data.count >= headLength + bodyLength {
            let body = String(decoding: data[headLength..<(headLength + bodyLength)], as: UTF8.self)
            lock.lock(); bodies.append(body); lock.unlock()
        }
        let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = write(client, reply, reply.count)
        close(client)
    }

    /// The offset just past the blank line that ends the headers.
    private static func headerEnd(_ data: [UInt8]) -> Int? {
        guard data.count >= 4 else { return nil }
        for i in 0...(data.count - 4) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    func take() -> [String] {
        lock.lock(); defer { lock.unlock() }
        let all = bodies
        bodies.removeAll()
        return all
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

final class EventTests: PortalTestCase {
    func testFromThePortalAreVerifiedAndParsed() throws {
        let sink = try EventSink()
        defer {
            try? Portal.update(FakePortalOptions(eventHandler: ""))
            sink.stop()
        }
        let token = "swift-application-token-0001"
        try Portal.update(FakePortalOptions(applicationToken: token,
                                            eventHandler: "http://127.0.0.1:\(sink.port)/events"))
        let client = try webhookClient()
        let callId = try XCTUnwrap(try client.startCallbackBlocking(request: request(Magic.noAnswer)).callId, "callId")
        var end: TelephonyEvent?
        var endBody = ""
        let until = Date().addingTimeInterval(20)
        while end == nil && Date() < until {
            for body in sink.take() {
                let event = try parseEvent(body: Data(body.utf8), expectedApplicationToken: token)
                if event.callId == callId && event.event == "ONVOXIMPLANTCALLEND" {
                    end = event
                    endBody = body
                }
            }
            if end == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        let e = try XCTUnwrap(end, "ONVOXIMPLANTCALLEND for \(callId)")
        XCTAssertEqual(e.outcome, .noAnswer, "outcome")
        XCTAssertEqual(e.data["CALL_FAILED_CODE"], "304", "CALL_FAILED_CODE")
        XCTAssertFalse("\(e)".contains("5550102"), "number printed: \(e)")
        try expectError(.authFailed) {
            _ = try parseEvent(body: Data(endBody.utf8), expectedApplicationToken: "another-application-token")
        }
    }
}
