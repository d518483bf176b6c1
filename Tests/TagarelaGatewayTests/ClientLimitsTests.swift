// ClientLimitsTests: the per-client bounds of PROTOCOL.md 2.5 and 1 on a live gateway: slow readers, handshake timeouts, connections per IP and in total, keepalive, the close handshake.
import Foundation
import Glibc
import XCTest
import TagarelaLink
import TagarelaWire
@testable import TagarelaGateway

final class ClientLimitsTests: GatewayTestCase {
    // MARK: - Slow reader

    func testSlowReaderIsDisconnectedPastItsQueueLimitWhileOthersKeepReceiving() throws {
        let queueLimit = 1 << 20
        let eventContent = String(repeating: "e", count: 128 * 1024)
        // Each `message` fans out one 128 KiB event to alice and bob.
        let h = try start(workers: 1, respond: { r in
            let text = String(decoding: r.json, as: UTF8.self)
            guard Canned.field("type", in: text) == "message", let id = Canned.field("request_id", in: text) else {
                return GatewayHarness.standardReply(r)
            }
            let event = "{\"type\":\"message:new\",\"payload\":{\"n\":\"\(id)\",\"content\":\"\(eventContent)\"}}"
            return LinkReply(requestID: r.requestID, json: Canned.ok(r),
                             events: [LinkEvent(userIDs: ["alice", "bob"], excludeConnectionID: r.connectionID,
                                                json: Array(event.utf8))])
        }, configure: { c in
            c.limits.outgoingQueueBytesMax = queueLimit
            c.limits.requestsPerSecond = 100_000
            c.limits.requestBurst = 100_000
        })
        let sender = try loggedIn(h, "carol")
        let reader = try loggedIn(h, "alice")
        // bob's small, fixed receive buffer makes his backlog land in the gateway's queue.
        let slow = try loggedIn(h, "bob", receiveBufferBytes: 4096)
        func bobConnections() -> Int { onLoop(h) { $0.byUser["bob"]?.count ?? 0 } }
        func post(_ n: Int) {
            sender.send("{\"type\":\"message\",\"request_id\":\"m\(n)\",\"chat_id\":\"c\",\"content\":\"x\"}\n")
            XCTAssertEqual(json(sender.readLine())?["request_id"]?.string, "m\(n)")
            XCTAssertEqual(json(reader.readLine())?["payload"]?["n"]?.string, "m\(n)", "the reader gets every event")
        }

        // Under the limit (4 x 128 KiB queued at most): bob stays, and gets every event whole.
        for n in 0..<4 { post(n) }
        XCTAssertEqual(bobConnections(), 1)
        for n in 0..<4 {
            XCTAssertEqual(json(slow.readLine())?["payload"]?["n"]?.string, "m\(n)")
        }

        // Now bob stops reading. Kernel buffers take a few MiB; then his queue passes 1 MiB and
        // he is cut off, while the reader gets each event as it comes.
        var n = 4
        while bobConnections() == 1 && n < 300 {
            post(n)
            n += 1
        }
        XCTAssertEqual(bobConnections(), 0, "bob disconnected after \(n) events (\(n * 128) KiB)")
        post(n)
        reader.send("{\"type\":\"get_presence\",\"request_id\":\"p\",\"user_ids\":[\"bob\"]}\n")
        XCTAssertEqual(json(reader.readLine())?["presence"]?["bob"]?.string, "offline")
        XCTAssertTrue(slow.waitForClose(), "bob's connection ends once he reads what was already sent")
        XCTAssertEqual(samples(metricsText(h))["tagarela_connections{transport=\"ndjson\"}"], 2)
    }

    // MARK: - Handshake timeout

    func testHandshakeTimeoutClosesSilentPartialAndTricklingConnectionsOnly() throws {
        let h = try start(workers: 0, configure: { $0.limits.handshakeTimeoutMs = 300 })
        // Finished handshakes first: they must outlive the deadline of everything opened after them.
        let ws = try h.client()
        XCTAssertTrue(ws.upgrade()?.hasPrefix("HTTP/1.1 101") ?? false)
        let raw = try h.client()
        raw.send("{\"type\":\"typing\",\"request_id\":\"r0\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(raw.readLine())?["request_id"]?.string, "r0")

        let silent = try h.client()
        let partial = try h.client()
        partial.send("GET /ws HTTP/1.1\r\nHost: x\r\n")
        let trickle = try h.client()
        trickle.send("GET / HTTP/1.1\r\n")
        // A slowloris head: a byte every 20 ms never finishes, and new bytes do not extend the deadline.
        XCTAssertTrue(waitUntil(timeoutMs: 5_000) {
            trickle.send("x")
            usleep(15_000)
            return !trickle.isOpen()
        }, "a trickling head is closed at the handshake deadline")
        XCTAssertTrue(silent.waitForClose(), "a connection that sends nothing is closed")
        XCTAssertTrue(partial.waitForClose(), "half an HTTP head is closed")
        XCTAssertEqual(samples(metricsText(h))["tagarela_handshakes_total{result=\"timeout\"}"], 3)

        // The finished ones were accepted earlier, so their deadline has passed too: they stay.
        ws.sendText("{\"type\":\"typing\",\"request_id\":\"w1\",\"chat_id\":\"c\"}")
        XCTAssertEqual(json(ws.readText())?["request_id"]?.string, "w1")
        raw.send("{\"type\":\"typing\",\"request_id\":\"r1\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(raw.readLine())?["request_id"]?.string, "r1")
    }

    // MARK: - Connection limits

    /// Asserts `client` gets the refusal: a 503 naming the limit, then the close.
    func assertRefused(_ client: TestClient, request: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        if let request = request { client.send(request) }
        let text = String(decoding: client.readToEOF(), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 503 "), "a refused connection gets a 503: \(text)", file: file, line: line)
        XCTAssertTrue(text.hasSuffix("\r\n\r\ntoo many connections\n"), "with the reason: \(text)", file: file, line: line)
        // A request racing the close may draw a reset after the 503; without one, the end is a clean EOF.
        if request == nil { XCTAssertTrue(client.sawEOF, "then the close", file: file, line: line) }
    }

    func testConnectionsPastThePerIPLimitAreRefusedAndTheOthersGoOn() throws {
        let h = try start(workers: 1, configure: { c in
            c.limits.connectionsPerIPMax = 2
            c.limits.connectionsMax = 1_000
        })
        var first: TestClient? = try loggedIn(h, "alice")
        let ws = try h.client()
        XCTAssertTrue(ws.upgrade()?.hasPrefix("HTTP/1.1 101") ?? false)

        assertRefused(try h.client())
        assertRefused(try h.client(), request: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assertRefused(try h.client(), request: "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let counters = samples(metricsText(h))
        XCTAssertEqual(counters["tagarela_connections_refused_total"], 3)
        XCTAssertEqual(counters["tagarela_connections_accepted_total"], 2)

        // The admitted ones are untouched.
        first?.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(first?.readLine())?["status"]?.string, "ok")
        ws.sendText("{\"type\":\"typing\",\"request_id\":\"w\",\"chat_id\":\"c\"}")
        XCTAssertEqual(json(ws.readText())?["request_id"]?.string, "w")

        // A closed connection gives its slot back.
        first = nil
        XCTAssertTrue(waitUntil { h.gateway.admission.openConnections == 1 })
        _ = try loggedIn(h, "bob")
    }

    func testConnectionsPastTheTotalLimitAreRefused() throws {
        let h = try start(workers: 0, loops: 2, configure: { c in
            c.limits.connectionsMax = 3
            c.limits.connectionsPerIPMax = 0  // no per-IP bound: only the total applies
        })
        let open = try (0..<3).map { _ in try h.client() }
        for (i, c) in open.enumerated() {
            c.send("{\"type\":\"get_presence\",\"request_id\":\"\(i)\",\"user_ids\":[]}\n")
            XCTAssertEqual(json(c.readLine())?["code"]?.string, "unauthenticated")
        }
        assertRefused(try h.client())
        XCTAssertEqual(h.gateway.admission.openConnections, 3)
        XCTAssertEqual(samples(metricsText(h))["tagarela_connections_refused_total"], 1)
        for (i, c) in open.enumerated() {
            c.send("{\"type\":\"typing\",\"request_id\":\"again\(i)\",\"chat_id\":\"c\"}\n")
            XCTAssertEqual(json(c.readLine())?["request_id"]?.string, "again\(i)")
        }
    }

    // MARK: - Keepalive and the close handshake

    /// The gateway's end of `client`'s connection: the socket in this process whose peer is the
    /// client's local address (the gateway runs in the test process).
    private func serverSocket(of client: TestClient, port: Int) -> Int32? {
        func address(_ fd: Int32, peer: Bool) -> sockaddr_in? {
            var a = sockaddr_in()
            var size = socklen_t(MemoryLayout<sockaddr_in>.size)
            let rc = withUnsafeMutablePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { peer ? getpeername(fd, $0, &size) : getsockname(fd, $0, &size) }
            }
            return rc == 0 && a.sin_family == sa_family_t(AF_INET) ? a : nil
        }
        guard let local = address(client.fd, peer: false) else { return nil }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.compactMap(Int32.init).first { fd in
            guard fd != client.fd, let mine = address(fd, peer: false), let theirs = address(fd, peer: true) else { return false }
            return Int(UInt16(bigEndian: mine.sin_port)) == port && theirs.sin_port == local.sin_port
        }
    }

    /// A raw TCP peer that vanishes without a FIN is only noticed by the kernel's keepalive:
    /// every accepted socket gets the times `Limits` gives (the kernel then drops the peer, which
    /// no test can wait for in bounded time; the system test checks that the options work).
    func testAcceptedSocketsGetTheKeepaliveOfLimits() throws {
        let h = try start(workers: 0, configure: { c in
            c.limits.tcpKeepAliveIdleSeconds = 71
            c.limits.tcpKeepAliveIntervalSeconds = 13
            c.limits.tcpKeepAliveProbesMax = 4
        })
        let c = try h.client()
        c.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(c.readLine())?["code"]?.string, "unauthenticated", "accepted and served")
        let fd = try XCTUnwrap(serverSocket(of: c, port: h.port))
        func option(_ level: Int32, _ name: Int32) -> Int32 {
            var value: Int32 = -1
            var size = socklen_t(MemoryLayout<Int32>.size)
            XCTAssertEqual(getsockopt(fd, level, name, &value, &size), 0)
            return value
        }
        XCTAssertEqual(option(SOL_SOCKET, SO_KEEPALIVE), 1)
        XCTAssertEqual(option(Int32(IPPROTO_TCP), TCP_KEEPIDLE), 71)
        XCTAssertEqual(option(Int32(IPPROTO_TCP), TCP_KEEPINTVL), 13)
        XCTAssertEqual(option(Int32(IPPROTO_TCP), TCP_KEEPCNT), 4)
    }

    /// RFC 6455 section 7.1.1: after its close frame the server waits `closeHandshakeTimeoutMs`
    /// for the peer's, then drops the TCP connection: a peer that never answers the close does
    /// not keep its descriptor.
    func testAPeerThatNeverAnswersTheCloseIsDroppedAfterTheCloseHandshakeTimeout() throws {
        let h = try start(workers: 0, configure: { c in
            c.limits.partialInputTimeoutMs = 100
            c.limits.closeHandshakeTimeoutMs = 200
        })
        let silent = try TestClient(port: h.port, timeoutMs: 5_000)
        XCTAssertTrue(silent.upgrade()?.hasPrefix("HTTP/1.1 101") ?? false)
        // A message left unfinished draws the gateway's close 1008 (a close that waits for the peer's).
        let frame = WebSocketFrameEncoder.encode(opcode: .text, payload: Array(repeating: 0x78, count: 100),
                                                 maskKey: WebSocketMaskKey(0x1234_5678))
        silent.send(Array(frame.prefix(20)))
        let close = silent.readFrame()
        XCTAssertEqual(close?.opcode, 0x8)
        XCTAssertEqual(close.map { UInt16($0.payload[0]) << 8 | UInt16($0.payload[1]) }, 1008)
        // No close frame back: the gateway ends the connection by itself.
        XCTAssertTrue(silent.waitForClose(), "dropped once the close handshake timed out")
        XCTAssertTrue(waitUntil { h.gateway.admission.openConnections == 0 })
    }

    func testAdmissionCountsPerHostAndInTotal() {
        let admission = ConnectionAdmission(maxTotal: 3, maxPerIP: 2)
        XCTAssertTrue(admission.admit(host: "10.0.0.1"))
        XCTAssertTrue(admission.admit(host: "10.0.0.1"))
        XCTAssertFalse(admission.admit(host: "10.0.0.1"), "per IP")
        XCTAssertTrue(admission.admit(host: "10.0.0.2"), "another host has its own count")
        XCTAssertFalse(admission.admit(host: "10.0.0.3"), "in total")
        XCTAssertEqual(admission.openConnections, 3)
        admission.release(host: "10.0.0.1")
        XCTAssertTrue(admission.admit(host: "10.0.0.3"), "a released slot is free again")
        XCTAssertFalse(admission.admit(host: "10.0.0.1"))
        admission.release(host: "10.0.0.2")
        XCTAssertTrue(admission.admit(host: "10.0.0.1"))
        XCTAssertFalse(admission.admit(host: "10.0.0.1"))

        XCTAssertEqual(ConnectionAdmission.host(ofPeer: "127.0.0.1:5050"), "127.0.0.1")
        XCTAssertEqual(ConnectionAdmission.host(ofPeer: "[::1]:5050"), "::1")
        XCTAssertEqual(ConnectionAdmission.host(ofPeer: "fe80::1"), "fe80::1")
    }
}
