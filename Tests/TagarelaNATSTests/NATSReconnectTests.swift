// NATSReconnectTests: failover in a 3-node cluster, dead-server detection by PING/PONG, the bounded pending buffer.
import Glibc
import TagarelaNATS
import TestSupport
import XCTest

final class NATSReconnectTests: XCTestCase {
    /// The subscriber's server is killed: it reconnects to another node, re-subscribes, and
    /// messages reach it again within a bounded wait.
    func testSubscriptionsWorkAgainAfterTheConnectedNodeIsKilled() throws {
        let (cluster, loop) = try natsServerAndLoop(clusterSize: 3)
        defer { loop.stop(); cluster.stop() }
        let subscriber = loop.connect(cluster.urlList, name: "sub")
        let n = cluster.nodes
        let publisher = loop.connect("\(n[2].url),\(n[1].url)", name: "pub")
        loop.waitUntil({ subscriber.connection.isConnected && publisher.connection.isConnected })
        loop.sync {
            XCTAssertEqual(subscriber.states.last, .connected(serverURL: "nats://127.0.0.1:\(n[0].clientPort)"))
            subscriber.connection.subscribe("events.>") { subscriber.messages.append($0) }
        }
        try deliverUntilReceived(loop, publisher, subscriber, marker: "before")
        cluster.kill(node: 0)
        loop.waitUntil(timeoutMs: 10_000, what: "reconnected to another node") {
            subscriber.connection.isConnected && subscriber.states.filter { if case .connected = $0 { return true }; return false }.count == 2
        }
        loop.sync {
            XCTAssertTrue(subscriber.states.contains(.connecting))
            XCTAssertNotEqual(subscriber.states.last, .connected(serverURL: "nats://127.0.0.1:\(n[0].clientPort)"))
        }
        try deliverUntilReceived(loop, publisher, subscriber, marker: "after")
    }

    /// Given one server only, the client learns the others from INFO `connect_urls` and fails
    /// over to them when that one dies.
    func testFailoverToServersLearnedFromConnectURLs() throws {
        let (cluster, loop) = try natsServerAndLoop(clusterSize: 3)
        defer { loop.stop(); cluster.stop() }
        let client = loop.connected(cluster.nodes[0].url)
        // Routes may still be forming: the INFO update with every node's URL can come a little later.
        usleep(300_000)
        cluster.kill(node: 0)
        loop.waitUntil(timeoutMs: 10_000, what: "connected to a learned node") {
            if case .connected(let url) = client.states.last { return !url.hasSuffix(":\(cluster.nodes[0].clientPort)") }
            return false
        }
    }

    /// A server that stops answering (SIGSTOP: its sockets stay open, nothing is read) is
    /// noticed by the missing PONGs within maxPingsOut intervals, and the client fails over.
    func testAServerThatStopsAnsweringIsLeftByPingTimeout() throws {
        let (cluster, loop) = try natsServerAndLoop(clusterSize: 3)
        defer {
            if let pid = cluster.nodes[0].pid { kill(pid, SIGCONT) }
            loop.stop()
            cluster.stop()
        }
        let client = loop.connected(cluster.urlList)
        kill(cluster.nodes[0].pid!, SIGSTOP)
        // 1 s PINGs, 2 unanswered allowed: dropped at about 3 s, then the next node answers.
        loop.waitUntil(timeoutMs: 8_000, what: "left the stopped server") {
            client.errors.contains { $0.contains("did not answer 2 PINGs") }
        }
        loop.waitUntil(timeoutMs: 5_000, what: "connected to another node") {
            if case .connected(let url) = client.states.last { return !url.hasSuffix(":\(cluster.nodes[0].clientPort)") }
            return false
        }
    }

    /// Publishes while disconnected are held up to pendingBytesMax, then refused.
    func testPublishesWhileDisconnectedAreBoundedAndFailuresReportedOnce() throws {
        try requireNATSServer()
        let port = try E2EProcess.freePort()  // nobody listens: the client keeps trying
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let recorder = Recorder()
        loop.sync {
            var options = NATSOptions(servers: [NATSServerURL(host: "127.0.0.1", port: port)], pendingBytesMax: 1000)
            options.reconnectDelayMs = 50
            recorder.connection = NATSConnection(loop: loop.loop, options: options)
            recorder.connection.start()
            // "PUB a.b 100\r\n" + 100 + "\r\n" = 115 bytes: 8 fit in 1000, the 9th does not.
            let accepted = (0..<9).map { _ in recorder.connection.publish("a.b", payload: [UInt8](repeating: 65, count: 100)) }
            XCTAssertEqual(accepted, [true, true, true, true, true, true, true, true, false])
            XCTAssertEqual(recorder.connection.queuedBytes, 8 * 115)
            XCTAssertFalse(recorder.connection.isConnected)
            recorder.connection.onError = { recorder.errors.append($0) }
        }
        // Attempts every 50 ms; the unreachable server is reported once, not at every attempt.
        usleep(500_000)
        loop.sync {
            XCTAssertEqual(recorder.errors.filter { $0.contains("127.0.0.1:\(port)") }.count, 1, "\(recorder.errors)")
            recorder.connection.close()
            XCTAssertFalse(recorder.connection.publish("a.b", payload: [1]), "closed refuses")
        }
    }

    /// Publishes `marker` every 50 ms until the subscriber got one (the SUB may still be on its
    /// way to the server), failing after 10 s.
    private func deliverUntilReceived(_ loop: NATSTestLoop, _ publisher: Recorder, _ subscriber: Recorder,
                                      marker: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var lastSentMs: Int64 = 0
        let got = loop.waitUntil(timeoutMs: 10_000, what: "\(marker) delivered", file: file, line: line) {
            if subscriber.messages.contains(where: { $0.payload == Array(marker.utf8) }) { return true }
            let now = loop.loop.nowMs
            if now - lastSentMs >= 50 {
                lastSentMs = now
                publisher.connection.publish("events.x", payload: Array(marker.utf8))
            }
            return false
        }
        XCTAssertTrue(got, file: file, line: line)
    }
}
