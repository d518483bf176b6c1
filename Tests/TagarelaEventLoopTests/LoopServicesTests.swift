// LoopServicesTests: timers, cross-thread execute, before-sleep ordering, Unix sockets and more ready descriptors than one wait reports.
import Foundation
import Glibc
@testable import TagarelaEventLoop
import TagarelaSystem
import TestSupport
import XCTest

final class LoopServicesTests: XCTestCase {
    func testTimersFireInDeadlineOrderAndCancelWorks() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        let loop = runner.loop
        var fired: [String] = []
        var earliestElapsed: Int64 = -1
        runner.sync {
            let start = Clock.monotonicMs()
            loop.schedule(afterMs: 60) { fired.append("60") }
            loop.schedule(afterMs: 10) {
                fired.append("10a")
                earliestElapsed = Clock.monotonicMs() - start
            }
            let cancelled = loop.schedule(afterMs: 15) { fired.append("cancelled") }
            loop.schedule(afterMs: 30) { fired.append("30") }
            loop.schedule(afterMs: 10) {
                fired.append("10b")
                loop.schedule(afterMs: 0) { fired.append("nested") }
            }
            cancelled.cancel()
            XCTAssertFalse(cancelled.isPending)
        }
        XCTAssertTrue(runner.waitUntil { fired.count == 5 })
        usleep(30_000)
        let order = runner.sync { fired } ?? []
        XCTAssertEqual(order.filter { $0 != "nested" }, ["10a", "10b", "30", "60"], "deadline order, ties FIFO")
        XCTAssertFalse(order.contains("cancelled"))
        let nested = order.firstIndex(of: "nested") ?? -1
        XCTAssertGreaterThan(nested, order.firstIndex(of: "10b") ?? Int.max, "a timer set by a timer fires later")
        XCTAssertGreaterThanOrEqual(runner.sync { earliestElapsed } ?? -1, 9, "never early (ms truncation aside)")
    }

    func testManyCancelledTimersAreDropped() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        let loop = runner.loop
        var fired = 0
        runner.sync {
            let handles = (0..<5000).map { _ in loop.schedule(afterMs: 60_000) { fired += 1 } }
            handles.forEach { $0.cancel() }
            loop.schedule(afterMs: 1) { fired += 100 }
        }
        XCTAssertTrue(runner.waitUntil { fired == 100 })
    }

    func testExecuteFromOtherThreadsRunsEveryTaskInOrderPerThread() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        let loop = runner.loop
        let threads = 4
        let perThread = 500
        // A reference box: only the loop thread touches its contents.
        final class Seen { var lists = [[Int]](repeating: [], count: 4) }
        let seen = Seen()
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            Thread {
                for i in 0..<perThread { loop.execute { seen.lists[t].append(i) } }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + .seconds(5)), .success)
        XCTAssertTrue(runner.waitUntil { seen.lists.reduce(0) { $0 + $1.count } == threads * perThread })
        let final = runner.sync { seen.lists } ?? []
        for list in final { XCTAssertEqual(list, Array(0..<perThread)) }
    }

    func testBeforeSleepHooksRunAfterReadsAndBeforeTheFlush() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        let loop = runner.loop
        let server = try TestServer(runner: runner) {
            TestHandler { channel, _ in channel.write(Array("reply".utf8)) }
        }
        defer { server.close() }
        var queuedAtHook: [Int] = []
        runner.sync {
            loop.addBeforeSleep {
                // The worker commits its journal here; the reply must still be unsent.
                if let channel = server.channels.first, channel.queuedBytes > 0 {
                    queuedAtHook.append(channel.queuedBytes)
                }
            }
        }
        let client = try LoopbackClient(port: server.port)
        try client.send("q")
        XCTAssertEqual(String(decoding: try client.read(exactly: 5), as: UTF8.self), "reply")
        XCTAssertEqual(runner.sync { queuedAtHook }, [5])
    }

    func testUnixSocketRoundTrip() throws {
        let runner = try LoopRunner()
        defer { runner.stop() }
        let loop = runner.loop
        let path = loopbackTemporaryPath("loop.sock")
        let listener = try Socket.listenUnix(path: path)
        defer {
            runner.sync { loop.removeListener(fd: listener) }
            FileDescriptor.close(listener)
            unlink(path)
        }
        var peers: [String] = []
        let echo = TestHandler { channel, bytes in channel.write(OutboundBytes(copying: UnsafeRawBufferPointer(bytes))) }
        runner.sync {
            loop.addListener(fd: listener) { fd, peer in
                peers.append(peer)
                _ = loop.register(fd: fd, handler: echo, maxQueuedBytes: LoopRunner.queuedBytesMax)
            }
        }
        let client = try LoopbackClient(unixPath: path)
        try client.send("length-prefixed frames go here")
        XCTAssertEqual(String(decoding: try client.read(exactly: 30), as: UTF8.self), "length-prefixed frames go here")
        XCTAssertEqual(runner.sync { peers }, ["unix"])
        client.close()
        XCTAssertTrue(runner.waitUntil { echo.closedCount == 1 })
    }

    func testChannelIDsAreUniqueAcrossLoopsAndNeverZero() throws {
        let first = try LoopRunner()
        defer { first.stop() }
        let second = try LoopRunner()
        defer { second.stop() }
        var ids: [UInt64] = []
        for runner in [first, second] {
            let loop = runner.loop
            for _ in 0..<2 {
                var fds: [Int32] = [0, 0]
                XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue), 0, &fds), 0)
                FileDescriptor.close(fds[1])
                let handler = TestHandler()
                if let id = runner.sync({ loop.register(fd: fds[0], handler: handler, maxQueuedBytes: LoopRunner.queuedBytesMax).id }) { ids.append(id) }
            }
        }
        XCTAssertEqual(Set(ids).count, 4)
        XCTAssertFalse(ids.contains(0))
    }
    /// `EventLoop.readyEventsPerWaitMax` bounds one wait's report, not who is served: with more
    /// descriptors ready at once than that, every one is still read (the rest in later turns).
    func testMoreReadyDescriptorsThanOneWaitReportsAreAllServed() throws {
        let count = EventLoop.readyEventsPerWaitMax + 100
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let needed = rlim_t(2 * count + 200)
        if limit.rlim_cur < needed {
            limit.rlim_cur = min(needed, limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        guard limit.rlim_cur >= needed else { throw XCTSkip("needs \(needed) descriptors, may open \(limit.rlim_cur)") }
        let runner = try LoopRunner()
        defer { runner.stop() }
        let loop = runner.loop
        var peers: [Int32] = []
        defer { for fd in peers { FileDescriptor.close(fd) } }
        let handler = TestHandler()
        for _ in 0..<count {
            var fds: [Int32] = [0, 0]
            XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue), 0, &fds), 0)
            peers.append(fds[1])
            runner.sync { _ = loop.register(fd: fds[0], handler: handler, maxQueuedBytes: LoopRunner.queuedBytesMax) }
        }
        // Every peer writes while the loop runs this block, so all are ready for the same wait.
        runner.sync {
            for fd in peers { XCTAssertEqual(write(fd, "x", 1), 1) }
        }
        XCTAssertTrue(runner.waitUntil { handler.received.count == count }, "every descriptor read once")
        XCTAssertEqual(runner.sync { handler.received.count }, count)
    }
}
