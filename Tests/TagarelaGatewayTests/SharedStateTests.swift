// SharedStateTests: the presence table, connection admission and metrics rendering shared across loops.
import XCTest
import enum TagarelaModel.RequestType
@testable import TagarelaGateway

final class SharedStateTests: XCTestCase {
    func testPresenceCountsConnections() {
        let p = PresenceTable()
        p.connect("a")
        p.connect("a")
        p.connect("b")
        XCTAssertEqual(p.states(["a", "b", "c"]), [true, true, false])
        p.disconnect("a")
        XCTAssertTrue(p.isOnline("a"))
        p.disconnect("a")
        XCTAssertFalse(p.isOnline("a"))
        p.disconnect("a")
        XCTAssertEqual(p.connectionCount("a"), 0)
        XCTAssertEqual(p.onlineUsers, 1)
    }

    func testPresenceUnderConcurrentUpdates() {
        let p = PresenceTable()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for _ in 0..<1_000 {
                p.connect("u\(i % 2)")
                p.disconnect("u\(i % 2)")
            }
        }
        XCTAssertEqual(p.onlineUsers, 0)
    }

    func testAdmissionLimits() {
        let a = ConnectionAdmission(maxTotal: 3, maxPerIP: 2)
        XCTAssertTrue(a.admit(host: "1.1.1.1"))
        XCTAssertTrue(a.admit(host: "1.1.1.1"))
        XCTAssertFalse(a.admit(host: "1.1.1.1"))
        XCTAssertTrue(a.admit(host: "2.2.2.2"))
        XCTAssertFalse(a.admit(host: "3.3.3.3"))
        a.release(host: "1.1.1.1")
        XCTAssertTrue(a.admit(host: "3.3.3.3"))
        XCTAssertEqual(a.openConnections, 3)
    }

    func testPeerHost() {
        XCTAssertEqual(ConnectionAdmission.host(ofPeer: "127.0.0.1:5000"), "127.0.0.1")
        XCTAssertEqual(ConnectionAdmission.host(ofPeer: "127.0.0.1"), "127.0.0.1")
        XCTAssertEqual(ConnectionAdmission.host(ofPeer: "[::1]:80"), "::1")
        XCTAssertEqual(ConnectionAdmission.host(ofPeer: "::1"), "::1")
    }

    func testMetricsRendering() {
        var a = LoopCounters(workers: 2)
        a.connectionsWebSocket = 3
        a.requestsByType[RequestType.message.index] = 7
        a.workerLinkUp = [1, 0]
        var b = LoopCounters(workers: 2)
        b.connectionsWebSocket = 2
        b.deliveries = 11
        b.workerLinkUp = [1, 1]
        a.add(b)
        let text = MetricsRenderer.render(a, loops: 2, onlineUsers: 4)
        XCTAssertTrue(text.contains("tagarela_connections{transport=\"websocket\"} 5\n"))
        XCTAssertTrue(text.contains("tagarela_requests_total{type=\"message\"} 7\n"))
        XCTAssertTrue(text.contains("tagarela_deliveries_total 11\n"))
        XCTAssertTrue(text.contains("tagarela_worker_links_up{worker=\"0\"} 2\n"))
        XCTAssertTrue(text.contains("tagarela_worker_links_up{worker=\"1\"} 1\n"))
        XCTAssertTrue(text.contains("tagarela_online_users 4\n"))
        XCTAssertTrue(text.contains("# TYPE tagarela_frames_total counter\n"))
    }
}
