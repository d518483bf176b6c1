// HTTPEndpointTests: protocol detection on the one port and the gateway's HTTP answers (PROTOCOL.md 1 and 1.1): healthz, metrics, the page, errors, split first bytes.
import Foundation
import TestSupport
import XCTest

final class HTTPEndpointTests: EndToEndTestCase {
    override class var workerCount: Int { 1 }

    func testHealthzAnswersJSON() throws {
        let health = try E2EHTTP.get(port: port, "/healthz")
        XCTAssertEqual(health.status, 200, health.text)
        XCTAssertTrue(health.header("Content-Type")?.hasPrefix("application/json") ?? false, "\(health.headers)")
        let body = try E2EJSON.parse(health.body)
        guard case .object = body else { return XCTFail("the body is a JSON object: \(health.text)") }
        if let length = health.header("Content-Length") { XCTAssertEqual(Int(length), health.body.count) }

        let head = try E2EHTTP.exchange(port: port, E2EHTTP.requestBytes("HEAD", "/healthz", port: port))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.body, [], "HEAD has no body (RFC 9110 section 9.3.2)")
    }

    func testMetricsIsPrometheusText() throws {
        // Some traffic first, so counters have something to count.
        let c = try connect(.ndjson, "m")
        assertError(try c.request("get_user_chats"), "get_user_chats", "unauthenticated")
        let metrics = try E2EHTTP.get(port: port, "/metrics")
        XCTAssertEqual(metrics.status, 200, metrics.text)
        XCTAssertTrue(metrics.header("Content-Type")?.hasPrefix("text/plain") ?? false, "\(metrics.headers)")
        let sample = try NSRegularExpression(
            pattern: #"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*,?\})? (-?[0-9.]+([eE][-+]?[0-9]+)?|[-+]?Inf|NaN)( -?[0-9]+)?$"#)
        var samples = 0
        for line in metrics.text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            let text = String(line)
            XCTAssertNotNil(sample.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), "not a sample line: \(text)")
            samples += 1
        }
        XCTAssertGreaterThan(samples, 0, metrics.text)
        XCTAssertTrue(metrics.text.contains("# TYPE "), "exposition carries TYPE lines")
    }

    func testWebClientPageIsSelfContainedHTML() throws {
        let page = try E2EHTTP.get(port: port, "/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.header("Content-Type")?.hasPrefix("text/html") ?? false, "\(page.headers)")
        let html = page.text.lowercased()
        XCTAssertTrue(html.contains("<html") && html.contains("</html>"), "an HTML page")
        XCTAssertTrue(page.text.contains("WebSocket"), "the page talks to the server over WebSocket")
        let external = try NSRegularExpression(pattern: #"(src|href)\s*=\s*["']?(https?:)?//"#, options: [.caseInsensitive])
        XCTAssertNil(external.firstMatch(in: page.text, range: NSRange(page.text.startIndex..., in: page.text)),
                     "no external assets")
    }

    func testHTTPErrorsThenClose() throws {
        func exchange(_ raw: String) throws -> E2EHTTPResponse {
            try E2EHTTP.exchange(port: port, Array(raw.utf8))
        }
        let host = "Host: 127.0.0.1:\(port)\r\n"
        XCTAssertEqual(try E2EHTTP.get(port: port, "/no-such-page").status, 404)
        XCTAssertEqual(try exchange("POST / HTTP/1.1\r\n\(host)Content-Length: 0\r\n\r\n").status, 405)
        XCTAssertEqual(try exchange("DELETE /healthz HTTP/1.1\r\n\(host)\r\n").status, 405)

        let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        let badKey = try exchange("GET /ws HTTP/1.1\r\n\(host)\(upgrade)Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n")
        XCTAssertEqual(badKey.status, 400, "a key that is not 16 bytes: \(badKey.statusLine)")
        XCTAssertFalse(badKey.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "a one-line reason")
        let noHost = try exchange("GET /ws HTTP/1.1\r\n\(upgrade)Sec-WebSocket-Key: \(E2EWebSocketClient.sampleKey)\r\nSec-WebSocket-Version: 13\r\n\r\n")
        XCTAssertEqual(noHost.status, 400, "Host is required: \(noHost.statusLine)")
        let oldVersion = try exchange("GET /ws HTTP/1.1\r\n\(host)\(upgrade)Sec-WebSocket-Key: \(E2EWebSocketClient.sampleKey)\r\nSec-WebSocket-Version: 8\r\n\r\n")
        XCTAssertEqual(oldVersion.status, 426)
        XCTAssertEqual(oldVersion.header("Sec-WebSocket-Version"), "13")
        let http10 = try exchange("GET /ws HTTP/1.0\r\n\(host)\(upgrade)Sec-WebSocket-Key: \(E2EWebSocketClient.sampleKey)\r\nSec-WebSocket-Version: 13\r\n\r\n")
        XCTAssertEqual(http10.status, 400, "HTTP/1.1 or later: \(http10.statusLine)")
        let noVersion = try exchange("GET /\r\n\r\n")
        XCTAssertEqual(noVersion.status, 400, noVersion.statusLine)
        let huge = try exchange("GET / HTTP/1.1\r\n\(host)X-Filler: \(String(repeating: "f", count: 9000))\r\n\r\n")
        XCTAssertEqual(huge.status, 431)
    }

    func testDetectionWithBytesArrivingOneAtATime() throws {
        let health = try E2EHTTP.get(port: port, "/healthz", byteByByte: true)
        XCTAssertEqual(health.status, 200, health.statusLine)

        let ws = try E2EWebSocketClient(port: port, byteByByte: true)
        let viaWS = E2EChatClient(transport: ws, label: "ws")
        assertError(try viaWS.request("get_user_chats"), "get_user_chats", "unauthenticated")

        let raw = try E2ENDJSONClient(port: port)
        let line = Array((E2EChatClient.requestText("fly", [], requestID: "slow") + "\n").utf8)
        try raw.stream.sendByteByByte(Array(line[0..<12]))
        try raw.sendRaw(Array(line[12...]))
        let viaTCP = E2EChatClient(transport: raw, label: "tcp")
        assertError(try viaTCP.response(to: "slow"), "fly", "bad_request")

        // Raw NDJSON may start with whitespace.
        let spaced = try E2ENDJSONClient(port: port)
        try spaced.sendRaw(Array(("  \t" + E2EChatClient.requestText("fly", [], requestID: "sp") + "\n").utf8))
        assertError(try E2EChatClient(transport: spaced, label: "sp").response(to: "sp"), "fly", "bad_request")
    }
}
