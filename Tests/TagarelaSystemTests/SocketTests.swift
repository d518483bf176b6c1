// SocketTests: TCP and Unix listen/connect/accept and typed read/write results over 127.0.0.1.
import Glibc
import TagarelaSystem
import TestSupport
import XCTest

final class SocketTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        ProcessSetup.ignoreSIGPIPE()
    }

    /// Accepts the one pending connection, waiting at most 5 s.
    private func acceptOne(_ listener: Int32) throws -> (fd: Int32, peer: String) {
        XCTAssertTrue(LoopbackClient.poll(listener, events: Int16(POLLIN), timeoutMs: 5000))
        return try XCTUnwrap(Socket.accept(listener))
    }

    func testListenOnPortZeroAcceptsWithPeerAddress() throws {
        let listener = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: false)
        defer { FileDescriptor.close(listener) }
        let port = try Socket.boundPort(listener)
        XCTAssertGreaterThan(port, 0)
        XCTAssertNil(try Socket.accept(listener), "no connection waiting yet: nil, not an error")

        let client = try LoopbackClient(port: port)
        let (server, peer) = try acceptOne(listener)
        defer { FileDescriptor.close(server) }
        XCTAssertEqual(peer, "127.0.0.1")
        XCTAssertNotEqual(fcntl(server, F_GETFL) & O_NONBLOCK, 0, "accepted sockets are non-blocking")
        XCTAssertNotEqual(fcntl(server, F_GETFD) & FD_CLOEXEC, 0, "accepted sockets are close-on-exec")
        try Socket.setNoDelay(server)
        try Socket.setBuffers(server, send: 64 * 1024, receive: 64 * 1024)

        var buffer = [UInt8](repeating: 0, count: 16)
        let empty = try buffer.withUnsafeMutableBytes { try FileDescriptor.read(server, into: $0) }
        XCTAssertEqual(empty, .wouldBlock)

        try client.send("ping")
        XCTAssertTrue(LoopbackClient.poll(server, events: Int16(POLLIN), timeoutMs: 5000))
        let got = try buffer.withUnsafeMutableBytes { try FileDescriptor.read(server, into: $0) }
        XCTAssertEqual(got, .bytes(4))
        XCTAssertEqual(Array(buffer[0..<4]), Array("ping".utf8))

        let reply = Array("pong!".utf8)
        let wrote = try reply.withUnsafeBytes { try FileDescriptor.write(server, $0) }
        XCTAssertEqual(wrote, .bytes(5))
        XCTAssertEqual(try client.read(exactly: 5), reply)

        client.close()
        XCTAssertTrue(LoopbackClient.poll(server, events: Int16(POLLIN), timeoutMs: 5000))
        let end = try buffer.withUnsafeMutableBytes { try FileDescriptor.read(server, into: $0) }
        XCTAssertEqual(end, .eof)
    }

    func testWritevGathersChunksInOrder() throws {
        let listener = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: false)
        defer { FileDescriptor.close(listener) }
        let client = try LoopbackClient(port: try Socket.boundPort(listener))
        let (server, _) = try acceptOne(listener)
        defer { FileDescriptor.close(server) }

        let parts: [[UInt8]] = [Array("one ".utf8), Array("two ".utf8), Array("three".utf8)]
        let pointers = parts.map { part -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: part.count, alignment: 1)
            part.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: part.count) }
            return p
        }
        defer { pointers.forEach { $0.deallocate() } }
        var iov = zip(pointers, parts).map { iovec(iov_base: $0.0, iov_len: $0.1.count) }
        let result = try FileDescriptor.writev(server, &iov, count: iov.count)
        XCTAssertEqual(result, .bytes(13))
        XCTAssertEqual(String(decoding: try client.read(exactly: 13), as: UTF8.self), "one two three")
        XCTAssertGreaterThanOrEqual(FileDescriptor.maxIOVectors, 16)
    }

    func testWriteToResetPeerThrowsTypedError() throws {
        let listener = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: false)
        defer { FileDescriptor.close(listener) }
        let client = try LoopbackClient(port: try Socket.boundPort(listener))
        let (server, _) = try acceptOne(listener)
        defer { FileDescriptor.close(server) }
        // SO_LINGER 0 makes close send RST instead of FIN.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        client.close()
        XCTAssertTrue(LoopbackClient.poll(server, events: Int16(POLLIN), timeoutMs: 5000))
        let bytes = [UInt8](repeating: 1, count: 1024)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { raw -> Void in
            for _ in 0..<8 { _ = try FileDescriptor.write(server, raw) }
        }) { error in
            let code = (error as? SystemError)?.errno
            XCTAssertTrue(code == ECONNRESET || code == EPIPE, "got \(error)")
        }
    }

    func testSecondBindWithoutReusePortFailsWithAddressInUse() throws {
        let first = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: false)
        defer { FileDescriptor.close(first) }
        let port = try Socket.boundPort(first)
        XCTAssertThrowsError(try Socket.listenTCP(host: "127.0.0.1", port: port, reusePort: false)) { error in
            guard let error = error as? SystemError else { return XCTFail("untyped error \(error)") }
            XCTAssertEqual(error.errno, EADDRINUSE)
            XCTAssertTrue(error.op.hasPrefix("bind(127.0.0.1:"), error.op)
            XCTAssertTrue(error.description.contains("errno \(EADDRINUSE)"), error.description)
        }
    }

    func testReusePortAllowsTwoListenersOnOnePort() throws {
        let first = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: true)
        defer { FileDescriptor.close(first) }
        let second = try Socket.listenTCP(host: "127.0.0.1", port: try Socket.boundPort(first), reusePort: true)
        FileDescriptor.close(second)
    }

    func testBadHostIsRejected() {
        XCTAssertThrowsError(try Socket.listenTCP(host: "not-an-ip", port: 0, reusePort: false))
        XCTAssertThrowsError(try Socket.connectTCP(host: "127.0.0.1", port: 70000))
    }

    func testUnixListenUnlinksStalePathAndRoundTrips() throws {
        let path = loopbackTemporaryPath("sys.sock")
        defer { unlink(path) }
        let stale = try Socket.listenUnix(path: path)
        FileDescriptor.close(stale)  // leaves the socket file behind, like a crashed worker
        let listener = try Socket.listenUnix(path: path)
        defer { FileDescriptor.close(listener) }

        let client = try LoopbackClient(unixPath: path)
        let (server, peer) = try acceptOne(listener)
        defer { FileDescriptor.close(server) }
        XCTAssertEqual(peer, "unix")
        try FileDescriptor.writeAll(server, Array("over unix".utf8))
        XCTAssertEqual(String(decoding: try client.read(exactly: 9), as: UTF8.self), "over unix")
    }

    func testUnixPathTooLongIsTypedError() {
        let path = "/tmp/" + String(repeating: "x", count: 200)
        XCTAssertThrowsError(try Socket.listenUnix(path: path)) { error in
            XCTAssertEqual((error as? SystemError)?.errno, ENAMETOOLONG)
        }
    }

    func testConnectUnixToMissingPathFails() {
        XCTAssertThrowsError(try Socket.connectUnix(path: loopbackTemporaryPath("missing.sock"))) { error in
            XCTAssertEqual((error as? SystemError)?.errno, ENOENT)
        }
    }
}
