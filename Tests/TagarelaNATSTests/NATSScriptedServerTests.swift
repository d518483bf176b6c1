// NATSScriptedServerTests: the connection against a scripted server: its bounds (handshake time, max_payload, requests, socket queue), output order, flush, TLS refusal.
import Foundation
import Glibc
import TagarelaNATS
import TagarelaSystem
import TestSupport
import XCTest

final class NATSScriptedServerTests: XCTestCase {
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

    /// flush: true on the PONG of its own PING (keepalive PONGs before it do not count), queued
    /// while disconnected, false after its timeout.
    func testFlushCompletesOnItsOwnPong() throws {
        let fake = try FakeNATSServer()
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let client = connection(loop, port: fake.port)
        var results: [String: Bool] = [:]
        loop.sync { client.connection.flush(timeoutMs: 10_000) { results["early"] = $0 } }  // before the handshake
        try fake.accept()
        try fake.send("INFO {}\r\n")
        _ = try fake.read(until: "PING\r\n")
        try fake.send("PONG\r\n")  // the handshake's
        loop.waitUntil { client.connection.isConnected }
        _ = try fake.read(until: "PING\r\n")  // the early flush's, after the handshake
        loop.sync { XCTAssertNil(results["early"]) }
        try fake.send("PONG\r\n")
        loop.waitUntil { results["early"] == true }
        loop.sync { client.connection.flush(timeoutMs: 300) { results["unanswered"] = $0 } }
        _ = try fake.read(until: "PING\r\n")
        loop.waitUntil { results["unanswered"] != nil }
        loop.sync { XCTAssertEqual(results["unanswered"], false); client.connection.close() }
    }

    /// A server whose INFO requires TLS is refused with the reason (no CONNECT, so no
    /// credentials, is sent to it); with no other server the connection closes for good.
    func testServerRequiringTLSIsRefused() throws {
        let fake = try FakeNATSServer()
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let client = loop.connect("nats://secret@127.0.0.1:\(fake.port)")
        try fake.accept()
        try fake.send("INFO {\"tls_required\":true}\r\n")
        loop.waitUntil(what: "closed") { if case .closed = client.states.last { return true }; return false }
        loop.sync {
            XCTAssertTrue(client.errors.contains { $0.contains("requires TLS") && $0.contains("terminate TLS in front") }, "\(client.errors)")
            if case .closed(let reason)? = client.states.last { XCTAssertTrue(reason.contains("TLS is not offered"), reason) }
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var got: [UInt8] = []
        _ = E2EProcess.waitUntil(timeoutMs: 300) {
            let r = buffer.withUnsafeMutableBytes { try? FileDescriptor.read(fake.client, into: $0) }
            if case .bytes(let n)? = r { got += buffer[0..<n] }
            return r == .eof
        }
        XCTAssertFalse(String(decoding: got, as: UTF8.self).contains("CONNECT"), "credentials sent to a TLS server in clear")
    }

    /// A server that accepts but never sends INFO, and one that sends INFO but never answers the
    /// PING after CONNECT, are each given up after the handshake timeout: the socket is closed
    /// (the server sees end of file) and the client comes back for another attempt.
    func testHandshakeTimeout() throws {
        for sendsInfo in [false, true] {
            let fake = try FakeNATSServer()
            let loop = try NATSTestLoop()
            defer { loop.stop() }
            let client = connection(loop, port: fake.port)
            try fake.accept()
            if sendsInfo {
                try fake.send("INFO {}\r\n")
                _ = try fake.read(until: "PING\r\n")
            }
            let start = Clock.monotonicMs()
            let budget = Int(NATSLimits.handshakeTimeoutMs) + 3000
            XCTAssertTrue(fake.waitForClose(timeoutMs: budget), "the stalled handshake was not closed (INFO sent: \(sendsInfo))")
            XCTAssertGreaterThanOrEqual(Clock.monotonicMs() - start, NATSLimits.handshakeTimeoutMs - 200)
            loop.sync { XCTAssertTrue(client.errors.contains { $0.contains("did not complete the handshake") }, "\(client.errors)") }
            fake.dropClient()
            try fake.accept()  // the next attempt (the only server is tried again)
            loop.sync { XCTAssertFalse(client.connection.isConnected); client.connection.close() }
        }
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

    /// A server that stops reading: past socketQueuedBytesMax unsent bytes the connection is
    /// dropped. PINGs are spaced past the test's wait, so their timeout cannot be what drops it.
    func testSocketQueueBound() throws {
        let fake = try FakeNATSServer()
        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let client = loop.connect("nats://127.0.0.1:\(fake.port)") { $0.pingIntervalMs = 600_000 }
        try fake.handshake()
        loop.waitUntil { client.connection.isConnected }
        let payload = [UInt8](repeating: 7, count: 1_000_000)
        let count = NATSLimits.socketQueuedBytesMax / payload.count + 2
        loop.sync { for _ in 0..<count { client.connection.publish("big", payload: payload) } }
        loop.waitUntil(what: "dropped") { client.states.contains(.connecting) && client.states.count >= 3 }
        loop.sync {
            XCTAssertTrue(client.errors.contains { $0.contains("connection to nats://127.0.0.1:\(fake.port) lost") }, "\(client.errors)")
            XCTAssertFalse(client.errors.contains { $0.contains("did not answer") }, "\(client.errors)")
            client.connection.close()
        }
    }
}
