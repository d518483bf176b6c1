// MetricsTests: the exact /metrics families and labels, and that each counter moves by exactly what a known burst of traffic did.
import Foundation
import XCTest
import TagarelaWire
import TagarelaModel
@testable import TagarelaGateway

final class MetricsTests: GatewayTestCase {
    /// Every family the gateway exposes, with its Prometheus type.
    let families: [(String, String)] = [
        ("tagarela_connections", "gauge"), ("tagarela_connections_accepted_total", "counter"),
        ("tagarela_connections_refused_total", "counter"), ("tagarela_handshakes_total", "counter"),
        ("tagarela_http_requests_total", "counter"), ("tagarela_frames_total", "counter"),
        ("tagarela_bytes_total", "counter"), ("tagarela_requests_total", "counter"),
        ("tagarela_request_errors_total", "counter"), ("tagarela_events_total", "counter"),
        ("tagarela_deliveries_total", "counter"), ("tagarela_sessions_ended_total", "counter"),
        ("tagarela_backpressure_pauses_total", "counter"), ("tagarela_online_users", "gauge"),
        ("tagarela_event_loops", "gauge"), ("tagarela_worker_links_up", "gauge"),
        ("tagarela_worker_in_flight", "gauge"), ("tagarela_link_subscriptions_total", "counter"),
    ]

    func testEveryFamilyIsExposedWithItsTypeAndLabels() throws {
        let h = try start(workers: 2, loops: 2)
        let text = metricsText(h)
        for (name, type) in families {
            XCTAssertTrue(text.contains("# HELP \(name) "), "HELP of \(name)")
            XCTAssertTrue(text.contains("# TYPE \(name) \(type)\n"), "TYPE of \(name)")
        }
        let s = samples(text)
        for type in RequestType.clientTypes {
            XCTAssertEqual(s["tagarela_requests_total{type=\"\(type.rawValue)\"}"], 0, "every request type has a sample")
        }
        for result in ["accepted", "refused", "timeout"] {
            XCTAssertEqual(s["tagarela_handshakes_total{result=\"\(result)\"}"], 0)
        }
        for code in ["bad_request", "rate_limited", "unauthenticated", "unavailable"] {
            XCTAssertEqual(s["tagarela_request_errors_total{code=\"\(code)\"}"], 0)
        }
        XCTAssertEqual(s["tagarela_event_loops"], 2)
        XCTAssertEqual(s["tagarela_worker_links_up{worker=\"0\"}"], 2, "one link per loop")
        XCTAssertEqual(s["tagarela_worker_links_up{worker=\"1\"}"], 2)
        XCTAssertEqual(s["tagarela_worker_in_flight{worker=\"1\"}"], 0)
        // Over HTTP the same text comes back, as the exposition format's content type.
        let c = try h.client()
        c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = String(decoding: c.readToEOF(), as: UTF8.self)
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 200 "))
        XCTAssertTrue(response.contains("Content-Type: \(MetricsRenderer.contentType)\r\n"), response)
        XCTAssertTrue(response.contains("# TYPE tagarela_worker_in_flight gauge\n"))
    }

    /// `tagarela_journal_corrupt_records` comes from each worker's stats file in the run folder;
    /// a worker without one has no sample.
    func testJournalCorruptRecordsComeFromTheWorkersStatsFiles() throws {
        let h = try start(workers: 3, loops: 2)
        try "journal_corrupt_records 2\n".write(toFile: h.runDir + "/worker-0.stats", atomically: true, encoding: .utf8)
        try "journal_corrupt_records 0\nfuture_counter 5\n".write(toFile: h.runDir + "/worker-1.stats", atomically: true, encoding: .utf8)
        let text = metricsText(h)
        XCTAssertTrue(text.contains("# TYPE tagarela_journal_corrupt_records gauge\n"), text)
        let s = samples(text)
        XCTAssertEqual(s["tagarela_journal_corrupt_records{worker=\"0\"}"], 2)
        XCTAssertEqual(s["tagarela_journal_corrupt_records{worker=\"1\"}"], 0)
        XCTAssertNil(s["tagarela_journal_corrupt_records{worker=\"2\"}"])
    }

    func testCountersMoveByExactlyWhatTheTrafficDid() throws {
        let h = try start(workers: 1, loops: 2)
        let before = samples(metricsText(h))
        var bytesSent = 0
        func send(_ c: TestClient, _ text: String) {
            c.send(text)
            bytesSent += text.utf8.count
        }
        func sendFrame(_ c: TestClient, _ text: String) {
            let frame = WebSocketFrameEncoder.encode(opcode: .text, payload: Array(text.utf8), maskKey: WebSocketMaskKey(7))
            c.send(frame)
            bytesSent += frame.count
        }
        let upgrade = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

        // alice on WebSocket: handshake, login, a message (one event, to bob), get_presence.
        let alice = try h.client()
        send(alice, upgrade)
        XCTAssertTrue(alice.readHead()?.hasPrefix("HTTP/1.1 101") ?? false)
        sendFrame(alice, String(loginLine("alice").dropLast()))
        XCTAssertEqual(json(alice.readText())?["status"]?.string, "ok")
        // bob on NDJSON.
        let bob = try h.client()
        send(bob, loginLine("bob"))
        XCTAssertEqual(json(bob.readLine())?["status"]?.string, "ok")
        sendFrame(alice, "{\"type\":\"message\",\"request_id\":\"m\",\"chat_id\":\"d:alice:bob\",\"content\":\"hi\"}")
        XCTAssertEqual(json(alice.readText())?["request_id"]?.string, "m")
        XCTAssertEqual(json(bob.readLine())?["type"]?.string, "message:new")
        sendFrame(alice, "{\"type\":\"get_presence\",\"request_id\":\"p\",\"user_ids\":[\"bob\"]}")
        XCTAssertEqual(json(alice.readText())?["presence"]?["bob"]?.string, "online")
        // A stranger: one request before auth, one that is not JSON.
        let stranger = try h.client()
        send(stranger, "{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(stranger.readLine())?["code"]?.string, "unauthenticated")
        send(stranger, "{nope\n")
        XCTAssertEqual(json(stranger.readLine())?["code"]?.string, "bad_request")
        // A refused handshake and a health check, each on its own connection.
        let refused = try h.client()
        send(refused, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(String(decoding: refused.readToEOF(), as: UTF8.self).hasPrefix("HTTP/1.1 400 "))
        let health = try h.client()
        send(health, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(String(decoding: health.readToEOF(), as: UTF8.self).hasPrefix("HTTP/1.1 200 "))

        let after = samples(metricsText(h))
        func delta(_ key: String) -> Int? {
            guard let a = after[key] else { return nil }
            return a - (before[key] ?? 0)
        }
        XCTAssertEqual(delta("tagarela_connections_accepted_total"), 5)
        XCTAssertEqual(delta("tagarela_connections_refused_total"), 0)
        XCTAssertEqual(delta("tagarela_handshakes_total{result=\"accepted\"}"), 1)
        XCTAssertEqual(delta("tagarela_handshakes_total{result=\"refused\"}"), 1)
        XCTAssertEqual(delta("tagarela_handshakes_total{result=\"timeout\"}"), 0)
        XCTAssertEqual(delta("tagarela_http_requests_total"), 1, "the health check")
        XCTAssertEqual(delta("tagarela_requests_total{type=\"login\"}"), 2)
        XCTAssertEqual(delta("tagarela_requests_total{type=\"message\"}"), 1)
        XCTAssertEqual(delta("tagarela_requests_total{type=\"get_presence\"}"), 1)
        XCTAssertEqual(delta("tagarela_requests_total{type=\"typing\"}"), 1)
        XCTAssertEqual(delta("tagarela_request_errors_total{code=\"unauthenticated\"}"), 1)
        XCTAssertEqual(delta("tagarela_request_errors_total{code=\"bad_request\"}"), 1)
        // In: alice 3 messages + bob 1 + stranger 2. Out: their 6 answers and bob's event.
        XCTAssertEqual(delta("tagarela_frames_total{direction=\"in\"}"), 6)
        XCTAssertEqual(delta("tagarela_frames_total{direction=\"out\"}"), 7)
        XCTAssertEqual(delta("tagarela_bytes_total{direction=\"in\"}"), bytesSent, "every byte the clients sent")
        XCTAssertGreaterThan(delta("tagarela_bytes_total{direction=\"out\"}") ?? 0, 0)
        XCTAssertEqual(delta("tagarela_events_total"), 2, "the worker sends each event to every loop; both count it")
        XCTAssertEqual(delta("tagarela_deliveries_total"), 1, "to bob only: the sender gets the response")
        XCTAssertEqual(after["tagarela_connections{transport=\"websocket\"}"], 1)
        XCTAssertEqual(after["tagarela_connections{transport=\"ndjson\"}"], 2)
        XCTAssertEqual(after["tagarela_connections{transport=\"pending\"}"], 0, "the HTTP connections are gone")
        XCTAssertEqual(after["tagarela_online_users"], 2)
        XCTAssertEqual(after["tagarela_worker_in_flight{worker=\"0\"}"], 0)

        // A logout on one connection ends the same session on another, and says so.
        let bob2 = try h.client()
        bob2.send(loginLine("bob"))
        XCTAssertEqual(json(bob2.readLine())?["status"]?.string, "ok")
        bob.send("{\"type\":\"logout\",\"request_id\":\"out\"}\n")
        XCTAssertEqual(json(bob.readLine())?["request_id"]?.string, "out")
        XCTAssertEqual(json(bob2.readLine())?["type"]?.string, "session:ended")
        let last = samples(metricsText(h))
        XCTAssertEqual(last["tagarela_sessions_ended_total"].map { $0 - (after["tagarela_sessions_ended_total"] ?? 0) }, 1)
        XCTAssertEqual(last["tagarela_online_users"], 1)
        XCTAssertEqual(last["tagarela_requests_total{type=\"logout\"}"], 1)
    }
}
