// LoopThread: runs a test's event loop on a thread of its own, with bounded waits and a guaranteed stop.
import Foundation
import TagarelaSystem
import XCTest

/// Owns the thread of one loop. TestSupport does not see `EventLoop` (it sits below the loop in the
/// module layers), so a subclass hands in the loop's three entry points: `run` (blocks until
/// stopped), `stop` and `execute` (queues a closure for the loop's thread). `sync` runs a closure
/// on the loop and waits (5 s at most); `stop` ends the thread and is safe to call twice (tests
/// call it in `defer` so a failing test still stops it; a released runner stops too).
open class LoopThread {
    private let stopLoop: () -> Void
    private let execute: (@escaping () -> Void) -> Void
    private let pollIntervalUs: UInt32
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    /// Starts `run` on a new thread; `waitUntil` polls every `pollIntervalUs`.
    public init(run: @escaping () -> Void, stop: @escaping () -> Void,
                execute: @escaping (@escaping () -> Void) -> Void, pollIntervalUs: UInt32 = 2_000) {
        stopLoop = stop
        self.execute = execute
        self.pollIntervalUs = pollIntervalUs
        let finished = self.finished
        Thread {
            run()
            finished.signal()
        }.start()
    }

    deinit { stop() }

    /// Runs `body` on the loop thread and returns its result, failing the test after `timeoutMs`.
    @discardableResult
    public func sync<T>(timeoutMs: Int = 5000, file: StaticString = #filePath, line: UInt = #line,
                        _ body: @escaping () -> T) -> T? {
        let done = DispatchSemaphore(value: 0)
        var result: T?
        execute {
            result = body()
            done.signal()
        }
        if done.wait(timeout: .now() + .milliseconds(timeoutMs)) == .timedOut {
            XCTFail("loop did not run the closure within \(timeoutMs) ms", file: file, line: line)
            return nil
        }
        return result
    }

    /// Polls `condition` on the loop thread until it holds; false (and a test failure naming
    /// `what`) after `timeoutMs`.
    @discardableResult
    public func waitUntil(timeoutMs: Int = 5000, what: String = "condition", file: StaticString = #filePath,
                          line: UInt = #line, _ condition: @escaping () -> Bool) -> Bool {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while Clock.monotonicMs() < deadline {
            if sync(file: file, line: line, condition) == true { return true }
            usleep(pollIntervalUs)
        }
        XCTFail("\(what) not met within \(timeoutMs) ms", file: file, line: line)
        return false
    }

    /// Stops the loop and waits for its thread (5 s at most).
    public func stop() {
        if stopped { return }
        stopped = true
        stopLoop()
        if finished.wait(timeout: .now() + .seconds(5)) == .timedOut {
            XCTFail("event loop thread did not stop")
        }
    }
}
