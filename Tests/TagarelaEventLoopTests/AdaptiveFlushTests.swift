// AdaptiveFlushTests: EventLoop.flushPolicy .whenIdle writes in the same turn when idle, holds and batches while input is ready, never past the bound.
import Foundation
import Glibc
@testable import TagarelaEventLoop
import TagarelaSystem
import TestSupport
import XCTest

/// "More input is ready" is made deterministic with the loop's own wake-up: a task queued with
/// `execute` from inside a turn leaves the wake-up eventfd readable, which the flush phase's peek
/// sees, exactly as it would see a client's bytes. Delays are long (a minute, or a third of a
/// second where the bound itself is under test) so that only the policy, never the clock, can
/// release output early; every wait is bounded.
final class AdaptiveFlushTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        ProcessSetup.ignoreSIGPIPE()
    }

    /// A loop with the adaptive policy and `delayMs` as its hold bound, one accepted connection and its client.
    private func connected(delayMs: Int64) throws -> (LoopRunner, TestServer, LoopbackClient, Channel)? {
        try loopWithOneClient { loop in
            loop.flushDelayMs = delayMs
            loop.flushPolicy = .whenIdle
        }
    }

    func testAnIdleLoopWritesInTheSameTurn() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 60_000) else { return }
        defer { server.close(); runner.stop() }
        let loop = runner.loop
        let holdsBefore = runner.sync { loop.holdCount } ?? 0
        // Nothing else is ready when this turn flushes: with a minute's bound, only the idle rule
        // can have written it within the read's few seconds.
        runner.sync { channel.write(Array("hello\n".utf8)) }
        XCTAssertEqual(String(decoding: try client.read(exactly: 6, timeoutMs: 5_000), as: UTF8.self), "hello\n")
        XCTAssertEqual((runner.sync { loop.holdCount } ?? -1) - holdsBefore, 0, "never held: written in the turn that queued it")
        XCTAssertEqual(runner.sync { loop.held.count }, 0)
    }

    func testOutputIsHeldAndBatchedWhileMoreInputIsReady() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 60_000) else { return }
        defer { server.close(); runner.stop() }
        let loop = runner.loop
        let before = runner.sync { (loop.writevCount, loop.holdCount) } ?? (0, 0)
        // Three turns in a row each find the next one's work ready; the fourth finds nothing.
        let state = runner.sync { () -> Int in
            channel.write(Array("a".utf8))
            loop.execute {
                channel.write(Array("b".utf8))
                loop.execute { channel.write(Array("c\n".utf8)) }
            }
            return channel.queuedBytes
        }
        XCTAssertEqual(state, 1)
        XCTAssertEqual(String(decoding: try client.read(exactly: 4, timeoutMs: 5_000), as: UTF8.self), "abc\n")
        let after = runner.sync { (loop.writevCount, loop.holdCount) } ?? (0, 0)
        XCTAssertEqual(after.0 - before.0, 1, "three turns of output, one writev")
        XCTAssertEqual(after.1 - before.1, 2, "held at the two flushes that found more work ready")
    }

    func testBusyOutputIsNeverHeldPastTheBound() throws {
        let boundMs: Int64 = 300
        guard let (runner, server, client, channel) = try connected(delayMs: boundMs) else { return }
        defer { server.close(); runner.stop() }
        let loop = runner.loop
        // A task that queues itself again: every flush phase finds more work ready, for as long as
        // `busy` stays set, so the loop is never idle while the test waits for the bytes.
        let busy = Flag()
        busy.set(true)
        var spins = 0
        func spin() {
            spins += 1
            if busy.value { loop.execute(spin) }
        }
        let writtenAtMs = Clock.monotonicMs()
        runner.sync {
            channel.write(Array("late\n".utf8))
            loop.execute(spin)
        }
        let received = try client.read(exactly: 5, timeoutMs: 10_000)
        let stillBusy = busy.value
        busy.set(false)
        XCTAssertEqual(String(decoding: received, as: UTF8.self), "late\n")
        XCTAssertTrue(stillBusy)
        XCTAssertGreaterThanOrEqual(Clock.monotonicMs() - writtenAtMs, boundMs - 1, "held while busy, up to the bound")
        XCTAssertGreaterThan(runner.sync { loop.holdCount } ?? 0, 0)
        XCTAssertGreaterThan(runner.sync { spins } ?? 0, 1, "the loop stayed busy")
    }

    func testAPromptFlushIsNotHeldWhileBusy() throws {
        guard let (runner, server, client, channel) = try connected(delayMs: 60_000) else { return }
        defer { server.close(); runner.stop() }
        let busy = Flag()
        busy.set(true)
        let loop = runner.loop
        func spin() { if busy.value { loop.execute(spin) } }
        runner.sync {
            loop.execute(spin)
            channel.write(Array("reply\n".utf8))
            channel.flushPromptly()
        }
        defer { busy.set(false) }
        XCTAssertEqual(String(decoding: try client.read(exactly: 6, timeoutMs: 5_000), as: UTF8.self), "reply\n")
    }
}

/// `flushSpacingMs`: Nagle's rule per connection, for the channels that opt in.
final class FlushSpacingTests: XCTestCase {
    func testAPacedChannelWrittenRecentlyWaitsForTheSpacingEvenWhenIdle() throws {
        let spacingMs: Int64 = 300
        guard let c = try pacedAndPlain({ $0.flushSpacingMs = spacingMs }) else { return XCTFail("two connections") }
        defer { c.stop() }
        let (runner, loop, client, clientB) = (c.runner, c.loop, c.clients[0], c.clients[1])
        let (paced, plain) = (c.channels[0], c.channels[1])
        runner.sync { paced.pacedFlushes = true }
        // Not written lately: out at once, as without spacing.
        runner.sync { paced.write(Array("first\n".utf8)) }
        XCTAssertEqual(String(decoding: try client.read(exactly: 6, timeoutMs: 5_000), as: UTF8.self), "first\n")
        let firstAtMs = runner.sync { paced.lastFlushMs } ?? 0
        // Written just now: held on an idle loop until the spacing has passed, while a channel
        // that did not opt in is written in its turn.
        runner.sync {
            paced.write(Array("second\n".utf8))
            plain.write(Array("plain\n".utf8))
        }
        XCTAssertEqual(String(decoding: try clientB.read(exactly: 6, timeoutMs: 5_000), as: UTF8.self), "plain\n")
        XCTAssertEqual(runner.sync { paced.queuedBytes }, 7, "still held after the turn")
        XCTAssertEqual(runner.sync { (loop.held.count, loop.heldEarliestDueMs - firstAtMs) }?.1, spacingMs,
                       "due the spacing after the last write, not the delay after the oldest byte")
        XCTAssertEqual(String(decoding: try client.read(exactly: 7, timeoutMs: 5_000), as: UTF8.self), "second\n")
        XCTAssertGreaterThanOrEqual((runner.sync { paced.lastFlushMs } ?? 0) - firstAtMs, spacingMs)
    }
}

/// `pacedHoldMs`: a short fixed delay for the channels that opt in, on an idle loop too.
final class PacedHoldTests: XCTestCase {
    func testAPacedChannelHoldsFromItsOldestByteWhileOthersGoAtOnce() throws {
        let holdMs: Int64 = 300
        guard let c = try pacedAndPlain({ $0.pacedHoldMs = holdMs }) else { return XCTFail("two connections") }
        defer { c.stop() }
        let (runner, loop, client, clientB) = (c.runner, c.loop, c.clients[0], c.clients[1])
        let (paced, plain) = (c.channels[0], c.channels[1])
        let writtenAtMs = runner.sync { () -> Int64 in
            paced.pacedFlushes = true
            paced.write(Array("one\n".utf8))
            plain.write(Array("plain\n".utf8))
            return loop.nowMs
        } ?? 0
        XCTAssertEqual(String(decoding: try clientB.read(exactly: 6, timeoutMs: 5_000), as: UTF8.self), "plain\n")
        // A later write joins the held queue; both leave together once the oldest is old enough.
        runner.sync { paced.write(Array("two\n".utf8)) }
        XCTAssertEqual(runner.sync { (paced.queuedBytes, loop.heldEarliestDueMs - writtenAtMs) }?.1, holdMs)
        XCTAssertEqual(String(decoding: try client.read(exactly: 8, timeoutMs: 5_000), as: UTF8.self), "one\ntwo\n")
        XCTAssertGreaterThanOrEqual((runner.sync { paced.lastFlushMs } ?? 0) - writtenAtMs, holdMs)
    }
}

/// A loop whose flush delay (a minute) never releases output, set up further by `configure`, and
/// two accepted connections: the test lets the first opt into pacing; the second never does.
private func pacedAndPlain(_ configure: @escaping (EventLoop) -> Void) throws -> LoopWithClients? {
    try loopWithClients(2, configure: { loop in
        loop.flushDelayMs = 60_000
        configure(loop)
    })
}

/// A boolean the test thread and the loop thread share.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    var value: Bool { lock.lock(); defer { lock.unlock() }; return stored }
    func set(_ value: Bool) { lock.lock(); stored = value; lock.unlock() }
}
