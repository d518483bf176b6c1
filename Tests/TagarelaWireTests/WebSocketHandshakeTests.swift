// WebSocketHandshakeTests: the 101 of RFC 6455 section 1.3 and every refusal of PROTOCOL.md 1.1 with its status.

import TagarelaCrypto
import TagarelaWire
import TestSupport
import XCTest

final class WebSocketHandshakeTests: XCTestCase {
    private let valid: [(name: String, value: String)] = [
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", WireVectors.handshakeKey),
        ("Origin", "http://example.com"),
        ("Sec-WebSocket-Version", "13"),
    ]

    private func head(method: String = "GET", version: HTTPVersion = .http1_1,
                      replacing name: String? = nil, with value: String? = nil,
                      adding extra: [(name: String, value: String)] = []) -> HTTPRequestHead {
        var headers = valid.filter { name == nil || !HTTPRequestHead.equalsIgnoringASCIICase($0.name, name!) }
        if let name = name, let value = value { headers.append((name, value)) }
        return HTTPRequestHead(method: method, target: "/ws", version: version, headers: headers + extra)
    }

    private func assertRejected(_ head: HTTPRequestHead, _ status: Int, headers: [(String, String)] = [],
                                allowedOrigins: [String]? = nil, file: StaticString = #filePath, line: UInt = #line) {
        guard case .reject(let got, let reason, let extra) = WebSocketHandshake.evaluate(head, allowedOrigins: allowedOrigins) else {
            return XCTFail("accepted", file: file, line: line)
        }
        XCTAssertEqual(got, status, reason, file: file, line: line)
        XCTAssertFalse(reason.isEmpty, file: file, line: line)
        XCTAssertFalse(reason.contains("\n"), file: file, line: line)
        XCTAssertEqual(extra.map(\.0), headers.map(\.0), file: file, line: line)
        XCTAssertEqual(extra.map(\.1), headers.map(\.1), file: file, line: line)
    }

    func testAcceptsTheRFCSampleWithExactResponseBytes() {
        let outcome = WebSocketHandshake.evaluate(head(), allowedOrigins: nil)
        let expected = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        XCTAssertEqual(outcome, .accept(response: Array(expected.utf8)))
        XCTAssertEqual(outcome.responseBytes, Array(expected.utf8))
    }

    func testTokensInListsAnyCase() {
        let variants: [[(name: String, value: String)]] = [
            [("upgrade", "WebSocket"), ("connection", "keep-alive, UPGRADE")],
            [("UPGRADE", "h2c, websocket"), ("CONNECTION", "keep-alive,Upgrade")],
            [("Upgrade", "websocket"), ("Connection", "keep-alive"), ("Connection", "upgrade")],
        ]
        for extra in variants {
            var base = valid.filter { $0.name != "Upgrade" && $0.name != "Connection" }
            base += extra
            let request = HTTPRequestHead(method: "GET", target: "/ws", version: .http1_1, headers: base)
            guard case .accept = WebSocketHandshake.evaluate(request, allowedOrigins: nil) else {
                return XCTFail("refused \(extra)")
            }
        }
        guard case .accept = WebSocketHandshake.evaluate(head(version: HTTPVersion(major: 1, minor: 2)), allowedOrigins: nil) else {
            return XCTFail("HTTP/1.2 refused")
        }
    }

    func testEveryRefusal() {
        assertRejected(head(method: "POST"), 405, headers: [("Allow", "GET")])
        assertRejected(head(version: .http1_0), 400)
        assertRejected(head(replacing: "Host", with: nil), 400)
        assertRejected(head(replacing: "Host", with: ""), 400)
        assertRejected(head(adding: [("Host", "other")]), 400)
        assertRejected(head(replacing: "Upgrade", with: nil), 400)
        assertRejected(head(replacing: "Upgrade", with: "h2c"), 400)
        assertRejected(head(replacing: "Upgrade", with: "websocketx"), 400)
        assertRejected(head(replacing: "Connection", with: nil), 400)
        assertRejected(head(replacing: "Connection", with: "keep-alive"), 400)
        assertRejected(head(replacing: "Connection", with: "Upgraded"), 400)
        assertRejected(head(replacing: "Sec-WebSocket-Key", with: nil), 400)
        assertRejected(head(replacing: "Sec-WebSocket-Key", with: "not base64!"), 400)
        assertRejected(head(replacing: "Sec-WebSocket-Key", with: Base64.encode([UInt8](repeating: 1, count: 15))), 400)
        assertRejected(head(replacing: "Sec-WebSocket-Key", with: Base64.encode([UInt8](repeating: 1, count: 17))), 400)
        assertRejected(head(adding: [("Sec-WebSocket-Key", WireVectors.handshakeKey)]), 400)
    }

    func testWrongVersionIs426WithTheSupportedVersion() {
        let expectedHeaders = [("Sec-WebSocket-Version", "13")]
        assertRejected(head(replacing: "Sec-WebSocket-Version", with: "8"), 426, headers: expectedHeaders)
        assertRejected(head(replacing: "Sec-WebSocket-Version", with: "14"), 426, headers: expectedHeaders)
        assertRejected(head(replacing: "Sec-WebSocket-Version", with: nil), 426, headers: expectedHeaders)
        assertRejected(head(adding: [("Sec-WebSocket-Version", "8")]), 426, headers: expectedHeaders)
        let outcome = WebSocketHandshake.evaluate(head(replacing: "Sec-WebSocket-Version", with: "8"), allowedOrigins: nil)
        let body = "only WebSocket version 13 is supported\n"
        XCTAssertEqual(String(decoding: outcome.responseBytes, as: UTF8.self),
                       "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                       + "Sec-WebSocket-Version: 13\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
    }

    func testOriginAllowList() {
        let allowed = ["https://chat.example", "http://example.com"]
        guard case .accept = WebSocketHandshake.evaluate(head(), allowedOrigins: allowed) else { return XCTFail("listed origin") }
        guard case .accept = WebSocketHandshake.evaluate(head(replacing: "Origin", with: "HTTPS://CHAT.EXAMPLE"), allowedOrigins: allowed) else {
            return XCTFail("origins compare without case")
        }
        guard case .accept = WebSocketHandshake.evaluate(head(replacing: "Origin", with: nil), allowedOrigins: allowed) else {
            return XCTFail("a non-browser client sends no Origin")
        }
        assertRejected(head(replacing: "Origin", with: "https://evil.example"), 403, allowedOrigins: allowed)
        assertRejected(head(adding: [("Origin", "https://chat.example")]), 403, allowedOrigins: allowed)
        assertRejected(head(), 403, allowedOrigins: [])
        guard case .accept = WebSocketHandshake.evaluate(head(replacing: "Origin", with: "https://evil.example"), allowedOrigins: nil) else {
            return XCTFail("no allow-list means any origin")
        }
    }

    /// The parser and the handshake together, from bytes to bytes.
    func testFromBytesToBytes() {
        let request = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(WireVectors.handshakeKey)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        var parser = HTTPHeadParser()
        guard case .complete(let parsed, _) = parser.feed(Array(request.utf8)) else { return XCTFail("parse") }
        let response = String(decoding: WebSocketHandshake.evaluate(parsed, allowedOrigins: nil).responseBytes, as: UTF8.self)
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        XCTAssertTrue(response.contains("Sec-WebSocket-Accept: \(WireVectors.handshakeAccept)\r\n"))
    }
}
