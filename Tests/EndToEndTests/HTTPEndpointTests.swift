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

    func testHealthzNamesTheWorkersAndLoops() throws {
        let health = try E2EHTTP.get(port: port, "/healthz")
        XCTAssertEqual(health.status, 200, health.text)
        let body = try E2EJSON.parse(health.body)
        XCTAssertEqual(body["status"]?.string, "ok")
        XCTAssertEqual(body["workers"]?.int, workers)
        XCTAssertGreaterThanOrEqual(body["loops"]?.int ?? 0, 1)
        XCTAssertEqual(body["down_workers"], .array([]))
        XCTAssertEqual(health.header("Cache-Control"), "no-cache", "a probe must never see a cached answer")
    }

    /// The samples of `/metrics` by `name{labels}`.
    func metricSamples() throws -> [String: Int] {
        let metrics = try E2EHTTP.get(port: port, "/metrics")
        XCTAssertEqual(metrics.status, 200)
        var out: [String: Int] = [:]
        for line in metrics.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Int(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    func testMetricsCountersMoveWithTraffic() throws {
        let before = try metricSamples()
        let user = E2EUser("metrics\(UInt32.random(in: 0...UInt32.max))")
        let ws = try connect(.webSocket, "metrics-ws")
        try ws.registerAndLogin(user)
        let tcp = try connect(.ndjson, "metrics-tcp")
        assertError(try tcp.request("get_user_chats"), "get_user_chats", "unauthenticated")
        try tcp.login(user)
        let chat = try tcp.ok("create_group", [("group_name", "metrics"), ("member_ids", .array([]))])["chat"]?["id"]?.string ?? ""
        try tcp.sendMessage(chat, "counted")
        _ = try ws.event("message:new")
        XCTAssertEqual(try E2EHTTP.exchange(port: port, Array("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).status, 400)
        let after = try metricSamples()

        func delta(_ key: String) -> Int {
            XCTAssertNotNil(after[key], "\(key) is exposed")
            return (after[key] ?? 0) - (before[key] ?? 0)
        }
        XCTAssertEqual(delta("tagarela_requests_total{type=\"register\"}"), 1)
        XCTAssertEqual(delta("tagarela_requests_total{type=\"login\"}"), 2)
        XCTAssertEqual(delta("tagarela_requests_total{type=\"create_group\"}"), 1)
        XCTAssertEqual(delta("tagarela_requests_total{type=\"message\"}"), 1)
        XCTAssertEqual(delta("tagarela_requests_total{type=\"get_user_chats\"}"), 1)
        XCTAssertEqual(delta("tagarela_request_errors_total{code=\"unauthenticated\"}"), 1)
        XCTAssertEqual(delta("tagarela_handshakes_total{result=\"accepted\"}"), 1)
        XCTAssertEqual(delta("tagarela_handshakes_total{result=\"refused\"}"), 1)
        // The first /metrics request is counted by the time the second is rendered.
        XCTAssertGreaterThanOrEqual(delta("tagarela_http_requests_total"), 1)
        XCTAssertGreaterThanOrEqual(delta("tagarela_connections_accepted_total"), 3)
        // In: register, login, get_user_chats, login, create_group, message. Out: their answers and the event.
        XCTAssertEqual(delta("tagarela_frames_total{direction=\"in\"}"), 6)
        XCTAssertEqual(delta("tagarela_frames_total{direction=\"out\"}"), 7)
        XCTAssertGreaterThan(delta("tagarela_bytes_total{direction=\"in\"}"), 0)
        XCTAssertGreaterThan(delta("tagarela_bytes_total{direction=\"out\"}"), 0)
        XCTAssertGreaterThanOrEqual(delta("tagarela_events_total"), 1)
        XCTAssertEqual(delta("tagarela_deliveries_total"), 1, "the message to alice's other connection")
        XCTAssertGreaterThanOrEqual(after["tagarela_connections{transport=\"websocket\"}"] ?? 0, 1)
        XCTAssertGreaterThanOrEqual(after["tagarela_connections{transport=\"ndjson\"}"] ?? 0, 1)
        XCTAssertGreaterThanOrEqual(after["tagarela_online_users"] ?? 0, 1)
        XCTAssertEqual(after["tagarela_worker_links_up{worker=\"0\"}"], after["tagarela_event_loops"], "every loop is linked")
    }

    /// Subscription routing end to end. A message whose only member is its sender, on one
    /// connection, reaches exactly one gateway loop (the sender's, inside the reply): the other
    /// loop holds none of its users and the worker does not send it there. A message to a user
    /// with connections spread over the loops (six of them: all on the sender's loop by chance
    /// once in 2^6 with two loops) reaches every one of them.
    func testEventsReachOnlyTheLoopsHoldingTheirUsers() throws {
        let tag = UInt32.random(in: 0...UInt32.max)
        let lone = E2EUser("lone\(tag)")
        let c = try connect(.webSocket, "lone")
        try c.registerAndLogin(lone)
        let group = try c.ok("create_group", [("group_name", "solo"), ("member_ids", .array([]))])["chat"]?["id"]?.string ?? ""
        let before = try metricSamples()
        _ = try c.sendMessage(group, "to nobody else")
        let after = try metricSamples()
        XCTAssertEqual((after["tagarela_events_total"] ?? 0) - (before["tagarela_events_total"] ?? 0), 1,
                       "only the sender's loop gets the event (every loop got it before subscriptions)")
        XCTAssertEqual((after["tagarela_deliveries_total"] ?? 0) - (before["tagarela_deliveries_total"] ?? 0), 0)
        XCTAssertGreaterThanOrEqual(after["tagarela_link_subscriptions_total{op=\"subscribe\"}"] ?? 0, workers)

        let receiver = E2EUser("spread\(tag)")
        var receivers = [try connect(.webSocket, "r0")]
        try receivers[0].registerAndLogin(receiver)
        for i in 1..<6 {
            let r = try connect(i % 2 == 0 ? .webSocket : .ndjson, "r\(i)")
            try r.login(receiver)
            receivers.append(r)
        }
        let chat = try c.ok("create_chat", [("user_id", .string(receiver.name))])["chat"]?["id"]?.string ?? ""
        let m = try c.sendMessage(chat, "across loops")
        for r in receivers {
            let event = try r.event("message:new") { $0["payload"]?["id"] == m["id"] }
            XCTAssertEqual(event["payload"]?["content"]?.string, "across loops", r.label)
        }
    }

    /// The page and the library it imports (GET /tagarela.js), both from the gateway itself.
    func testWebClientPageIsSelfContainedHTML() throws {
        let page = try E2EHTTP.get(port: port, "/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.header("Content-Type")?.hasPrefix("text/html") ?? false, "\(page.headers)")
        let html = page.text.lowercased()
        XCTAssertTrue(html.contains("<html") && html.contains("</html>"), "an HTML page")
        XCTAssertTrue(page.text.contains("\"/tagarela.js\""), "the page is written on the client library")
        let library = try E2EHTTP.get(port: port, "/tagarela.js")
        XCTAssertEqual(library.status, 200)
        XCTAssertEqual(library.header("Content-Type"), "text/javascript; charset=utf-8")
        XCTAssertTrue(library.text.contains("export class Tagarela"), "an ES module")
        XCTAssertTrue(library.text.contains("WebSocket"), "the library talks to the server over WebSocket")
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
