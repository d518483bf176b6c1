// NATSBoundsTests: the connection's bounds against a scripted fake server: handshake timeout, max_payload ceiling, requests in flight, socket queue.
import Foundation
import Glibc
import TagarelaNATS
import TagarelaSystem
import TestSupport
import XCTest

/// A listening socket the test thread drives by hand: accept, send, read (all bounded).
final class FakeNATSServer {
    let listenFD: Int32
    let port: Int
    var client: Int32 = -1

    init() throws {
        listenFD = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: false)
        port = try Socket.boundPort(listenFD)
    }

    deinit {
        if client >= 0 { FileDescriptor.close(client) }
        FileDescriptor.close(listenFD)
    }

    func accept(timeoutMs: Int = 5000) throws {
        let ok = E2EProcess.waitUntil(timeoutMs: timeoutMs) {
            if let (fd, _) = (try? Socket.accept(self.listenFD)) ?? nil { self.client = fd; return true }
            return false
        }
        if !ok { throw E2EError.timedOut("accept") }
    }

    func send(_ text: String) throws { try FileDescriptor.writeAll(client, Array(text.utf8)) }

    /// Reads until `marker` arrived (or fails after `timeoutMs`); returns what was read.
    func read(until marker: String, timeoutMs: Int = 5000) throws -> String {
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let ok = E2EProcess.waitUntil(timeoutMs: timeoutMs) {
            let r = buffer.withUnsafeMutableBytes { try? FileDescriptor.read(self.client, into: $0) }
            if case .bytes(let n)? = r { got += buffer[0..<n] }
            return String(decoding: got, as: UTF8.self).contains(marker)
        }
        if !ok { throw E2EError.timedOut("\(marker) in \(String(decoding: got, as: UTF8.self).prefix(200))") }
        return String(decoding: got, as: UTF8.self)
    }

    /// INFO, then CONNECT+PING read and PONG sent: the client counts as connected.
    func handshake(info: String = "{\"server_id\":\"fake\",\"max_payload\":1048576}") throws {
        try accept()
        try send("INFO \(info)\r\n")
        _ = try read(until: "PING\r\n")
        try send("PONG\r\n")
    }
}

final class NATSBoundsTests: XCTestCase {
    private func connection(_ loop: NATSTestLoop, port: Int) -> Recorder {
        loop.connect("nats://127.0.0.1:\(port)")
    }

    /// What was published and subscribed before the handshake leaves right after it: the
    /// subscriptions first (so replies to the publishes find them), then the publishes, in order.
    func testHeldOutputIsSentAfterTheHandshakeInOrder() throws {
        let fake = try FakeNATSServer()
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let client = connection(loop, port: fake.port)
        loop.sync {
            client.connection.publish("a.b", payload: Array("hi".utf8))
            client.connection.subscribe("x.>", queue: "g") { _ in }
            client.connection.publish("a.c", reply: "x.1", payload: [])
        }
        try fake.accept()
        try fake.send("INFO {}\r\n")
        let hello = try fake.read(until: "PING\r\n")
        XCTAssertTrue(hello.hasPrefix("CONNECT {") && hello.hasSuffix("}\r\nPING\r\n"), hello)
        XCTAssertFalse(hello.contains("PUB"), "nothing before the server accepted the CONNECT")
        try fake.send("PONG\r\n")
        let after = try fake.read(until: "PUB a.c x.1 0\r\n\r\n")
        XCTAssertEqual(after, "SUB x.> g 1\r\nPUB a.b 2\r\nhi\r\nPUB a.c x.1 0\r\n\r\n")
        loop.sync {
            XCTAssertTrue(client.connection.isConnected)
            XCTAssertEqual(client.connection.connectedServer, "nats://127.0.0.1:\(fake.port)")
            client.connection.close()
            XCTAssertNil(client.connection.connectedServer)
        }
    }

    /// A server that reads slowly: past the socket's low-water mark `queuedBytes` shows the
    /// backlog, and `onWritable` says when it has drained.
    func testQueuedBytesAndOnWritable() throws {
        let fake = try FakeNATSServer()
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let client = connection(loop, port: fake.port)
        try fake.handshake()
        loop.waitUntil { client.connection.isConnected }
        var writable = 0
        let payload = [UInt8](repeating: 1, count: 500_000)
        loop.sync {
            client.connection.onWritable = { writable += 1 }
            for _ in 0..<40 { client.connection.publish("bulk", payload: payload) }  // 20 MB, more than the kernel buffers
        }
        loop.waitUntil(what: "a backlog") { client.connection.queuedBytes > 1_000_000 }
        _ = try fake.read(until: "PUB bulk 500000\r\n", timeoutMs: 5000)
        var drained = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let done = E2EProcess.waitUntil(timeoutMs: 20_000) {
            while case .bytes(let n)? = buffer.withUnsafeMutableBytes({ try? FileDescriptor.read(fake.client, into: $0) }) { drained += n }
            return (loop.sync { writable } ?? 0) > 0
        }
        XCTAssertTrue(done, "onWritable never called")
        loop.sync { client.connection.close() }
    }

    /// A server that accepts but never sends INFO is given up after the handshake timeout.
    func testHandshakeTimeout() throws {
        let fake = try FakeNATSServer()
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let client = connection(loop, port: fake.port)
        try fake.accept()
        let start = Clock.monotonicMs()
        loop.waitUntil(timeoutMs: Int(NATSLimits.handshakeTimeoutMs) + 3000, what: "handshake timeout reported") {
            client.errors.contains { $0.contains("did not complete the handshake") }
        }
        XCTAssertGreaterThanOrEqual(Clock.monotonicMs() - start, NATSLimits.handshakeTimeoutMs - 200)
        loop.sync { XCTAssertFalse(client.connection.isConnected); client.connection.close() }
    }

    /// A server announcing a max_payload past the ceiling is held to the ceiling; publishes over
    /// the announced figure are refused.
    func testMaxPayloadCeilingAndPublishOverIt() throws {
        let fake = try FakeNATSServer()
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let client = connection(loop, port: fake.port)
        try fake.handshake(info: "{\"max_payload\":999999999999}")
        loop.waitUntil { client.connection.isConnected }
        loop.sync { XCTAssertEqual(client.connection.maxPayloadBytes, NATSLimits.payloadBytesCeiling) }
        let small = try FakeNATSServer()
        let other = connection(loop, port: small.port)
        try small.handshake(info: "{\"max_payload\":100}")
        loop.waitUntil { other.connection.isConnected }
        loop.sync {
            XCTAssertTrue(other.connection.publish("a", payload: [UInt8](repeating: 1, count: 100)))
            XCTAssertFalse(other.connection.publish("a", payload: [UInt8](repeating: 1, count: 101)))
            XCTAssertFalse(other.connection.publish("a", headers: [("K", "v")], payload: [UInt8](repeating: 1, count: 90)))
        }
        // The server sending more than it announced is a protocol error: the client drops it.
        try small.send("MSG a 1 101\r\n")
        loop.waitUntil(what: "oversize MSG refused") { client.errors.isEmpty && other.errors.contains { $0.contains("payloadTooLarge(101)") } }
        loop.sync { client.connection.close(); other.connection.close() }
    }

    func testRequestsInFlightBound() throws {
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let port = try E2EProcess.freePort()  // never connects: requests wait in the pending buffer
        let client = connection(loop, port: port)
        var refused: NATSError?
        loop.sync(timeoutMs: 60_000) {
            for _ in 0..<NATSLimits.requestsInFlightMax {
                client.connection.request("a", payload: [], timeoutMs: 60_000) { if case .failure(let e) = $0 { refused = e } }
            }
            client.connection.request("a", payload: [], timeoutMs: 60_000) { if case .failure(let e) = $0 { refused = e } }
        }
        loop.waitUntil { refused != nil }
        loop.sync { XCTAssertEqual(refused, .tooManyRequests); client.connection.close() }
    }

    /// A server that stops reading: past socketQueuedBytesMax unsent bytes the connection is dropped.
    func testSocketQueueBound() throws {
        let fake = try FakeNATSServer()
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let client = connection(loop, port: fake.port)
        try fake.handshake()
        loop.waitUntil { client.connection.isConnected }
        let payload = [UInt8](repeating: 7, count: 1_000_000)
        let count = NATSLimits.socketQueuedBytesMax / payload.count + 2
        loop.sync { for _ in 0..<count { client.connection.publish("big", payload: payload) } }
        loop.waitUntil(what: "dropped") { client.states.contains(.connecting) && client.states.count >= 3 }
        loop.sync { XCTAssertTrue(client.errors.contains { $0.contains("connection to nats://127.0.0.1:\(fake.port) lost") }, "\(client.errors)") }
        loop.sync { client.connection.close() }
    }
}
