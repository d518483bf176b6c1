// PasswordHasherTests: password hashing runs on threads of its own behind a bounded queue, leaving Dispatch (and the stop signals on it) free.
import Dispatch
import Foundation
import TagarelaEventLoop
@testable import TagarelaWorker
import XCTest

final class PasswordHasherTests: XCTestCase {
    /// The stop signals (SIGTERM, SIGINT) are Dispatch sources on the global pool. A backlog of
    /// password hashes must not hold that pool's threads, or a worker under a login storm
    /// could not even be stopped.
    func testAHashingBacklogLeavesDispatchFree() throws {
        let loop = try EventLoop()
        let hasher = PasswordHasher(threads: 1, jobsMax: 400, loop: loop)
        defer { hasher.stop() }
        for i in 0..<400 {
            let queued = hasher.derive(password: Array("password\(i)".utf8), salt: [UInt8(i & 0xff)],
                                       iterations: 10_000) { _ in }
            XCTAssertTrue(queued)
        }
        let ran = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { ran.signal() }
        XCTAssertEqual(ran.wait(timeout: .now() + 5), .success, "a Dispatch block waited behind the hashing backlog")
    }

    /// `jobsMax` bounds what is in flight, from `derive` until the key is back on the loop.
    func testJobsPastTheBoundAreRefusedUntilResultsComeBack() throws {
        let runner = try HasherLoop()
        defer { runner.stop() }
        let gate = DispatchSemaphore(value: 0)
        let results = ResultBox()
        let accepted: [Bool] = runner.sync { hasher in
            (0..<4).map { i in
                hasher.submit({ gate.wait(); return [UInt8(i)] }, done: { results.append($0) })
            }
        }
        XCTAssertEqual(accepted, [true, true, true, false], "three in flight, the fourth refused")
        for _ in 0..<3 { gate.signal() }
        XCTAssertTrue(results.wait(count: 3), "every accepted job came back on the loop")
        XCTAssertEqual(results.values.sorted { $0[0] < $1[0] }, [[0], [1], [2]])
        XCTAssertEqual(runner.sync { $0.inFlight }, 0)
        XCTAssertEqual(runner.sync { $0.submit({ [9] }, done: { results.append($0) }) }, true, "room again")
        XCTAssertTrue(results.wait(count: 4))
    }

    /// No more than `threads` hashes run at once, however many are queued.
    func testConcurrencyIsCappedAtTheThreadCount() throws {
        let runner = try HasherLoop(threads: 2, jobsMax: 16)
        defer { runner.stop() }
        let counter = ConcurrencyCounter()
        let results = ResultBox()
        let accepted: [Bool] = runner.sync { hasher in
            (0..<8).map { _ in
                hasher.submit({ counter.enter(); usleep(20_000); counter.leave(); return [] }, done: { results.append($0) })
            }
        }
        XCTAssertEqual(accepted, Array(repeating: true, count: 8))
        XCTAssertTrue(results.wait(count: 8))
        XCTAssertLessThanOrEqual(counter.peak, 2)
        XCTAssertGreaterThanOrEqual(counter.peak, 1)
    }

    /// `stop` drops what is queued, lets the running hash finish, and returns only when every
    /// thread is gone; afterwards nothing is accepted.
    func testStopDropsTheQueueAndJoinsTheThreads() throws {
        let loop = try EventLoop()
        let hasher = PasswordHasher(threads: 2, jobsMax: 10, loop: loop)
        XCTAssertEqual(hasher.liveThreads, 2)
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let ranAfterStop = ResultBox()
        for i in 0..<2 {
            XCTAssertTrue(hasher.submit({ started.signal(); release.wait(); return [UInt8(i)] }, done: { _ in }))
        }
        for _ in 0..<5 {
            XCTAssertTrue(hasher.submit({ ranAfterStop.append([1]); return [] }, done: { _ in }))
        }
        for _ in 0..<2 { XCTAssertEqual(started.wait(timeout: .now() + 10), .success) }
        XCTAssertEqual(hasher.queuedJobs, 5)
        // Both threads are held, so only `stop` can empty the queue: the running hashes are let
        // go once it has, and `stop` must then wait for them.
        let releaser = Thread {
            for _ in 0..<10_000 where hasher.queuedJobs > 0 { usleep(1000) }
            release.signal()
            release.signal()
        }
        releaser.start()
        hasher.stop()
        XCTAssertEqual(hasher.liveThreads, 0)
        XCTAssertEqual(ranAfterStop.values.count, 0, "queued jobs were dropped, not run")
        XCTAssertFalse(hasher.submit({ [] }, done: { _ in }), "a stopped pool accepts nothing")
        hasher.stop()  // idempotent
    }
}

/// An event loop running on its own thread with a hasher, for tests that need results back.
private final class HasherLoop {
    let loop: EventLoop
    private(set) var hasher: PasswordHasher!
    private let finished = DispatchSemaphore(value: 0)

    init(threads: Int = 1, jobsMax: Int = 3) throws {
        loop = try EventLoop()
        hasher = PasswordHasher(threads: threads, jobsMax: jobsMax, loop: loop)
        let thread = Thread { [loop, finished] in loop.run(); finished.signal() }
        thread.start()
    }

    /// Runs `body` on the loop's thread (the hasher's calls belong there) and returns its result.
    func sync<R>(_ body: @escaping (PasswordHasher) -> R) -> R {
        var result: R?
        let done = DispatchSemaphore(value: 0)
        loop.execute { [hasher] in result = body(hasher!); done.signal() }
        precondition(done.wait(timeout: .now() + 10) == .success, "the test loop did not run the task")
        return result!
    }

    func stop() {
        loop.stop()
        precondition(finished.wait(timeout: .now() + 10) == .success, "the test loop did not stop")
        hasher.stop()
    }
}

/// Results delivered on the loop's thread, read from the test's.
private final class ResultBox {
    private let condition = NSCondition()
    private var stored: [[UInt8]] = []

    func append(_ value: [UInt8]) {
        condition.lock()
        stored.append(value)
        condition.broadcast()
        condition.unlock()
    }

    var values: [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        return stored
    }

    /// Waits up to 10 s for `count` results.
    func wait(count: Int) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        condition.lock()
        defer { condition.unlock() }
        while stored.count < count {
            if !condition.wait(until: deadline) { return stored.count >= count }
        }
        return true
    }
}

/// The most jobs seen running at once.
private final class ConcurrencyCounter {
    private let lock = NSLock()
    private var now = 0
    private(set) var peak = 0

    func enter() {
        lock.lock()
        now += 1
        peak = max(peak, now)
        lock.unlock()
    }

    func leave() {
        lock.lock()
        now -= 1
        lock.unlock()
    }
}
