// ChannelIOTests: reads, coalesced writes, EAGAIN and EPOLLOUT, bounded queues and close semantics over 127.0.0.1.
import Foundation
import Glibc
@testable import TagarelaEventLoop
import TagarelaSystem
import TestSupport
import XCTest

final class ChannelIOTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        ProcessSetup.ignoreSIGPIPE()
    }

    private func pattern(_ count: Int, offset: Int = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 + offset) % 251) }
    }

    func testEchoWithManySmallWritesCoalescedIntoOneWritev() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        // One write per byte: the loop must still send them with one writev per turn.
        let server = try TestServer(runner: runner) {
            TestHandler { channel, bytes in for byte in bytes { channel.write([byte]) } }
        }
        defer { server.close() }
        let client = try LoopbackClient(port: server.port)
        let message = pattern(1000)
        try client.send(message)
        XCTAssertEqual(try client.read(exactly: message.count), message)

        guard let (channel, _) = server.accepted(1).first else { return }
        let loop = runner.loop
        let before = runner.sync { loop.writevCount } ?? 0
        runner.sync {
            for index in 0..<500 { channel.write([UInt8(index & 0xff)]) }
            XCTAssertEqual(channel.queuedBytes, 500, "writes only queue; no syscall yet")
        }
        XCTAssertEqual(try client.read(exactly: 500), (0..<500).map { UInt8($0 & 0xff) })
        let after = runner.sync { loop.writevCount } ?? 0
        XCTAssertEqual(after - before, 1, "500 queued writes leave in one writev")
    }

    func testOneOutboundBytesFansOutToManyChannels() throws {
        guard let c = try loopWithClients(3) else { return XCTFail("three connections") }
        defer { c.stop() }
        let (runner, clients, channels) = (c.runner, c.clients, c.channels)
        let frame = OutboundBytes(Array("event:message\n".utf8))
        runner.sync { for channel in channels { channel.write(frame) } }
        for client in clients {
            XCTAssertEqual(String(decoding: try client.read(exactly: frame.count), as: UTF8.self), "event:message\n")
        }
    }

    func testLargeWriteToSlowReaderWaitsForEPOLLOUTAndCompletes() throws {
        guard let c = try loopWithClients() else { return }
        defer { c.stop() }
        let (runner, client, channel, handler) = (c.runner, c.clients[0], c.channels[0], c.handlers[0])
        try Socket.setBuffers(client.fd, receive: 32 * 1024)

        let total = 8 * 1024 * 1024
        let chunk = 64 * 1024
        let data = pattern(total)
        runner.sync {
            channel.maxQueuedBytes = 16 * 1024 * 1024
            try? Socket.setBuffers(channel.fd, send: 32 * 1024)
            data.withUnsafeBytes { raw in
                for start in stride(from: 0, to: total, by: chunk) {
                    channel.write(OutboundBytes(copying: UnsafeRawBufferPointer(rebasing: raw[start..<start + chunk])))
                }
            }
        }
        // The client has not read yet: the socket fills, the loop keeps the rest and arms EPOLLOUT.
        XCTAssertTrue(runner.waitUntil { channel.flags.contains(.writeArmed) })
        let pending = runner.sync { channel.queuedBytes } ?? 0
        XCTAssertGreaterThan(pending, 0)
        XCTAssertLessThan(pending, total, "the first writev sent part of it")

        let received = try client.read(exactly: total, timeoutMs: 20_000)
        XCTAssertTrue(received == data, "bytes arrive complete and in order")
        XCTAssertTrue(runner.waitUntil {
            channel.queuedBytes == 0 && !channel.flags.contains(.writeArmed) && !channel.appliedInterest.contains(.interestWritable)
        })
        XCTAssertEqual(runner.sync { handler.writableCount }, 1, "one channelWritable when the queue drained")
        XCTAssertEqual(runner.sync { handler.closedCount }, 0)
    }

    func testExceedingMaxQueuedBytesClosesAtSafePoint() throws {
        guard let c = try loopWithClients() else { return }
        defer { c.stop() }
        let (runner, client, channel, handler) = (c.runner, c.clients[0], c.channels[0], c.handlers[0])
        let loop = runner.loop

        let state = runner.sync { () -> (Bool, Int, Int) in
            channel.maxQueuedBytes = 64 * 1024
            let piece = OutboundBytes([UInt8](repeating: 7, count: 16 * 1024))
            for _ in 0..<16 { channel.write(piece) }
            // Marked, but not closed from inside the write path: channelClosed comes later.
            return (channel.isClosed, handler.closedCount, channel.queuedBytes)
        }
        XCTAssertEqual(state?.0, true)
        XCTAssertEqual(state?.1, 0, "channelClosed is not called from inside write()")
        XCTAssertEqual(state?.2, 64 * 1024, "the chunk that would pass the bound was not queued")
        XCTAssertTrue(runner.waitUntil { handler.closedCount == 1 && loop.channelCount == 0 })
        _ = try client.readUntilClosed()
        XCTAssertEqual(runner.sync { handler.closedCount }, 1)
    }

    func testCloseAfterFlushDeliversQueuedBytesThenCloses() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        let server = try TestServer(runner: runner) {
            TestHandler { channel, _ in
                channel.write(Array("bye".utf8))
                channel.closeAfterFlush()
                channel.write(Array(" ignored".utf8))
            }
        }
        defer { server.close() }
        let client = try LoopbackClient(port: server.port)
        try client.send("x")
        XCTAssertEqual(String(decoding: try client.readUntilClosed(), as: UTF8.self), "bye")
        guard let (_, handler) = server.accepted(1).first else { return }
        XCTAssertTrue(runner.waitUntil { handler.closedCount == 1 })
    }

    func testChannelClosedExactlyOnceOnPeerClose() throws {
        guard let c = try loopWithClients() else { return }
        defer { c.stop() }
        let (runner, client, channel, handler) = (c.runner, c.clients[0], c.channels[0], c.handlers[0])
        try client.send("hi")
        XCTAssertTrue(runner.waitUntil { handler.received.count == 2 })
        client.close()
        let loop = runner.loop
        XCTAssertTrue(runner.waitUntil { handler.closedCount == 1 })
        runner.sync {
            // Every later close path is a no-op on a closed channel.
            channel.close()
            channel.closeAfterFlush()
            channel.write([1, 2, 3])
            channel.pauseReading()
            channel.resumeReading()
        }
        usleep(20_000)
        XCTAssertEqual(runner.sync { handler.closedCount }, 1)
        XCTAssertEqual(runner.sync { loop.channelCount }, 0)
        XCTAssertEqual(runner.sync { channel.isClosed }, true)
        XCTAssertEqual(String(decoding: runner.sync { handler.received } ?? [], as: UTF8.self), "hi")
    }

    func testChannelClosedExactlyOnceOnPeerReset() throws {
        guard let c = try loopWithClients() else { return }
        defer { c.stop() }
        let (runner, client, channel, handler) = (c.runner, c.clients[0], c.channels[0], c.handlers[0])
        // Paused channels must still notice a reset (EPOLLERR/EPOLLHUP are always reported).
        runner.sync { channel.pauseReading() }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        client.close()
        XCTAssertTrue(runner.waitUntil { handler.closedCount == 1 })
        usleep(20_000)
        XCTAssertEqual(runner.sync { handler.closedCount }, 1)
    }

    func testChannelClosedExactlyOnceOnLocalCloseAfterFdIsClosed() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        var fdWasClosed: Bool?
        let server = try TestServer(runner: runner) {
            let handler = TestHandler { channel, _ in
                channel.write(Array("dropped".utf8))
                channel.close()
                channel.close()
                channel.closeAfterFlush()
            }
            handler.onClosed = { channel in fdWasClosed = fcntl(channel.fd, F_GETFD) == -1 }
            return handler
        }
        defer { server.close() }
        let client = try LoopbackClient(port: server.port)
        try client.send("close me")
        XCTAssertEqual(try client.readUntilClosed(), [], "close() discards queued output")
        guard let (_, handler) = server.accepted(1).first else { return }
        XCTAssertTrue(runner.waitUntil { handler.closedCount == 1 })
        usleep(20_000)
        XCTAssertEqual(runner.sync { handler.closedCount }, 1)
        XCTAssertEqual(runner.sync { fdWasClosed }, true, "channelClosed runs after the descriptor is closed")
    }

    func testPauseAndResumeReading() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        let server = try TestServer(runner: runner) {
            TestHandler { channel, _ in channel.pauseReading() }
        }
        defer { server.close() }
        let client = try LoopbackClient(port: server.port)
        try client.send("a")
        guard let (channel, handler) = server.accepted(1).first else { return }
        XCTAssertTrue(runner.waitUntil { handler.received.count == 1 })
        XCTAssertEqual(runner.sync { channel.isReadingPaused }, true)

        try client.send("bcd")
        usleep(100_000)
        XCTAssertEqual(runner.sync { handler.received.count }, 1, "nothing is delivered while paused")

        runner.sync {
            handler.onRead = { _, _ in }
            channel.resumeReading()
        }
        XCTAssertTrue(runner.waitUntil { handler.received.count == 4 })
        XCTAssertEqual(String(decoding: runner.sync { handler.received } ?? [], as: UTF8.self), "abcd")
    }

    func testStopClosesOpenChannels() throws {
        let runner = try LoopRunner()
        let server = try TestServer(runner: runner) { TestHandler() }
        let client = try LoopbackClient(port: server.port)
        guard let (_, handler) = server.accepted(1).first else { runner.stop(); return }
        server.close()
        runner.stop()
        XCTAssertEqual(handler.closedCount, 1, "the loop thread has ended, so reading here is safe")
        XCTAssertEqual(try client.readUntilClosed(), [])
    }

    func testRegisteringAnUnpollableDescriptorClosesTheChannel() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let handler = TestHandler()
        let loop = runner.loop
        let channel = runner.sync { loop.register(fd: fd, handler: handler, maxQueuedBytes: LoopRunner.queuedBytesMax) }
        XCTAssertTrue(runner.waitUntil { handler.closedCount == 1 && loop.channelCount == 0 })
        XCTAssertEqual(runner.sync { channel?.isClosed }, true)
    }
}

final class ChannelFootprintTests: XCTestCase {
    /// The gateway's budget is 2 KiB per idle connection; the channel must be a small part of it.
    func testIdleChannelIsSmall() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        let loop = runner.loop
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue), 0, &fds), 0)
        defer { FileDescriptor.close(fds[1]) }
        let handler = TestHandler()
        let size = runner.sync { () -> Int in
            let channel = loop.register(fd: fds[0], handler: handler, maxQueuedBytes: LoopRunner.queuedBytesMax)
            // malloc_usable_size lives in <malloc.h>, which the Glibc module does not import.
            typealias UsableSize = @convention(c) (UnsafeMutableRawPointer?) -> Int
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_usable_size") else { return -1 }
            let usableSize = unsafeBitCast(symbol, to: UsableSize.self)
            return usableSize(Unmanaged.passUnretained(channel).toOpaque())
        }
        // 192 bytes: the object itself is about 120 (malloc rounds it to a 128- or 144-byte chunk,
        // so the bound leaves room for that rounding) and stays under a tenth of the budget.
        XCTAssertGreaterThan(size ?? -1, 0, "malloc_usable_size answered")
        XCTAssertLessThanOrEqual(size ?? Int.max, 192, "Channel object allocation, bytes")
    }
}
