// OutputCoalescingTests: EventLoop.flushDelayMs under .fixedDelay holds small queues for later turns, never past the delay or the size bound.
import Foundation
import Glibc
@testable import TagarelaEventLoop
import TagarelaSystem
import TestSupport
import XCTest

/// The policy is checked through its effects, never through how fast anything is: bytes still
/// queued right after they were written, the held list's due time, writev counts, and bytes that
/// do arrive. Delays are long (a second or more) so that a slow machine cannot make a "still held"
/// check race the deadline; every wait is bounded.
final class OutputCoalescingTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        ProcessSetup.ignoreSIGPIPE()
    }

    /// A loop with the given coalescing settings, one accepted connection and its client.
    private func connected(delayMs: Int64, holdBytesMax: Int = EventLoop.defaultFlushHoldBytesMax)
        throws -> (LoopRunner, TestServer, LoopbackClient, Channel)?
    {
        try loopWithOneClient { loop in
            loop.flushDelayMs = delayMs
            loop.flushHoldBytesMax = holdBytesMax
            // The fixed policy holds whether or not the loop is busy (AdaptiveFlushTests: `.whenIdle`).
            loop.flushPolicy = .fixedDelay
        }
    }

    func testSmallOutputIsHeldThenWrittenOnceTheDelayHasPassed() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 1_000) else { return }
        defer { server.close(); runner.stop() }
        let loop = runner.loop
        let writtenAtMs = Clock.monotonicMs()
        runner.sync { channel.write(Array("hello\n".utf8)) }
        // A later turn (this sync is one) has not written it: it is on the held list, due at the
        // age of its oldest byte plus the delay.
        let state = runner.sync { (channel.queuedBytes, loop.held.count, loop.heldEarliestDueMs - channel.oldestQueuedMs) }
        XCTAssertEqual(state?.0, 6, "held, not written")
        XCTAssertEqual(state?.1, 1)
        XCTAssertEqual(state?.2, 1_000, "due exactly the delay after the oldest byte")
        // Nothing else happens on this loop: only the shortened poll timeout can release it.
        XCTAssertEqual(String(decoding: try client.read(exactly: 6, timeoutMs: 10_000), as: UTF8.self), "hello\n")
        XCTAssertGreaterThanOrEqual(Clock.monotonicMs() - writtenAtMs, 1_000 - 1, "not written before the delay")
        XCTAssertEqual(runner.sync { (loop.held.count, channel.queuedBytes) }?.0, 0)
    }

    func testWritesOverSeveralTurnsLeaveInOneWritev() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 1_500) else { return }
        defer { server.close(); runner.stop() }
        let loop = runner.loop
        let before = runner.sync { loop.writevCount } ?? 0
        for index in 0..<10 {
            // One sync per write: ten separate turns, each ending with a flush phase.
            runner.sync { channel.write([UInt8(index)]) }
        }
        XCTAssertEqual(runner.sync { channel.queuedBytes }, 10)
        XCTAssertEqual(try client.read(exactly: 10, timeoutMs: 10_000), (0..<10).map { UInt8($0) })
        XCTAssertEqual((runner.sync { loop.writevCount } ?? 0) - before, 1, "ten turns of output, one writev")
    }

    func testTheDelayCountsFromTheOldestUnflushedByte() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 2_000) else { return }
        defer { server.close(); runner.stop() }
        let loop = runner.loop
        runner.sync { channel.write([1]) }
        let firstDue = runner.sync { loop.heldEarliestDueMs } ?? 0
        usleep(50_000)
        // A later write joins the held queue without pushing its deadline back.
        runner.sync { channel.write([2]) }
        XCTAssertEqual(runner.sync { loop.heldEarliestDueMs }, firstDue)
        XCTAssertEqual(runner.sync { channel.oldestQueuedMs + loop.flushDelayMs }, firstDue)
        XCTAssertEqual(runner.sync { loop.held.count }, 1, "a channel is on the held list once")
        XCTAssertEqual(try client.read(exactly: 2, timeoutMs: 10_000), [1, 2])
    }

    func testCrossingTheSizeBoundWritesAtOnce() throws {
        // A delay far longer than any wait below: only the size bound can release the bytes.
        guard let (runner, server, client, channel) = try connected(delayMs: 60_000, holdBytesMax: 1_000)
        else { return }
        defer { server.close(); runner.stop() }
        runner.sync { channel.write([UInt8](repeating: 7, count: 600)) }
        XCTAssertEqual(runner.sync { channel.queuedBytes }, 600, "under the bound: held")
        XCTAssertTrue(client.staysSilent(forMs: 100))
        runner.sync { channel.write([UInt8](repeating: 8, count: 400)) }
        let received = try client.read(exactly: 1_000, timeoutMs: 5_000)
        XCTAssertEqual(received, [UInt8](repeating: 7, count: 600) + [UInt8](repeating: 8, count: 400))
    }

    func testFlushPromptlyWritesInThisTurn() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 60_000) else { return }
        defer { server.close(); runner.stop() }
        runner.sync { channel.write(Array("event\n".utf8)) }
        XCTAssertEqual(runner.sync { channel.queuedBytes }, 6)
        // The reply goes out now, and carries the held event with it, in order.
        runner.sync {
            channel.write(Array("reply\n".utf8))
            channel.flushPromptly()
        }
        XCTAssertEqual(String(decoding: try client.read(exactly: 12, timeoutMs: 5_000), as: UTF8.self), "event\nreply\n")
        // Prompt applies to one flush only: the next small write is held again.
        runner.sync { channel.write(Array("later\n".utf8)) }
        XCTAssertEqual(runner.sync { channel.queuedBytes }, 6)
    }

    func testCloseAfterFlushIsNotHeld() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 60_000) else { return }
        defer { server.close(); runner.stop() }
        runner.sync { channel.write(Array("held\n".utf8)) }
        runner.sync {
            channel.write(Array("bye\n".utf8))
            channel.closeAfterFlush()
        }
        XCTAssertEqual(String(decoding: try client.readUntilClosed(timeoutMs: 5_000), as: UTF8.self), "held\nbye\n")
        XCTAssertEqual(runner.sync { runner.loop.channelCount }, 0)
    }

    func testStoppingTheLoopWritesHeldOutput() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 60_000) else { return }
        // The stopped loop no longer watches the listener; only its descriptor is left to close.
        defer { FileDescriptor.close(server.listenFD) }
        runner.sync { channel.write(Array("last words\n".utf8)) }
        XCTAssertEqual(runner.sync { channel.queuedBytes }, 11)
        runner.stop()
        XCTAssertEqual(String(decoding: try client.readUntilClosed(timeoutMs: 5_000), as: UTF8.self), "last words\n")
    }

    func testAClosedHeldChannelLeavesTheHeldList() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 1_000) else { return }
        defer { server.close(); runner.stop() }
        let loop = runner.loop
        runner.sync { channel.write(Array("never sent\n".utf8)) }
        runner.sync { channel.close() }
        XCTAssertTrue(runner.waitUntil { loop.held.isEmpty }, "dropped once due, not written")
        XCTAssertEqual(try client.readUntilClosed(timeoutMs: 5_000), [])
    }

    func testWithoutADelayEveryTurnFlushes() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 0) else { return }
        defer { server.close(); runner.stop() }
        runner.sync { channel.write(Array("now\n".utf8)) }
        XCTAssertEqual(runner.sync { (runner.loop.held.count, channel.queuedBytes) }?.1, 0)
        XCTAssertEqual(String(decoding: try client.read(exactly: 4, timeoutMs: 5_000), as: UTF8.self), "now\n")
    }
}
