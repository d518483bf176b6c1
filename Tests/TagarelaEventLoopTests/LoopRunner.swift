// LoopRunner: runs an EventLoop on its own thread for a test, with bounded waits and a guaranteed stop.
import Foundation
import TagarelaEventLoop
import TagarelaSystem
import XCTest

/// Owns a loop thread. `sync` runs a closure on the loop and waits (5 s at most); `stop` ends the
/// thread and is safe to call twice (tests call it in `defer` so a failing test still stops it).
final class LoopRunner {
    /// The output bound of the tests' channels (`EventLoop.register` asks each owner for one):
    /// far above what a test writes, unless the test sets a smaller one to pass it.
    static let queuedBytesMax = 8 << 20

    let loop: EventLoop
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init() throws {
        loop = try EventLoop()
        let loop = self.loop
        let finished = self.finished
        let thread = Thread {
            loop.run()
            finished.signal()
        }
        thread.start()
    }

    /// Runs `body` on the loop thread and returns its result, failing the test after `timeoutMs`.
    @discardableResult
    func sync<T>(timeoutMs: Int = 5000, file: StaticString = #filePath, line: UInt = #line,
                 _ body: @escaping () -> T) -> T? {
        let done = DispatchSemaphore(value: 0)
        var result: T?
        loop.execute {
            result = body()
            done.signal()
        }
        if done.wait(timeout: .now() + .milliseconds(timeoutMs)) == .timedOut {
            XCTFail("loop did not run the closure within \(timeoutMs) ms", file: file, line: line)
            return nil
        }
        return result
    }

    /// Polls `condition` on the loop thread until it holds or `timeoutMs` passes.
    func waitUntil(timeoutMs: Int = 5000, file: StaticString = #filePath, line: UInt = #line,
                   _ condition: @escaping () -> Bool) -> Bool {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while Clock.monotonicMs() < deadline {
            if sync(file: file, line: line, condition) == true { return true }
            usleep(2_000)
        }
        XCTFail("condition not met within \(timeoutMs) ms", file: file, line: line)
        return false
    }

    /// Stops the loop and waits for its thread (5 s at most).
    func stop() {
        if stopped { return }
        stopped = true
        loop.stop()
        if finished.wait(timeout: .now() + .seconds(5)) == .timedOut {
            XCTFail("event loop thread did not stop")
        }
    }
}

/// A handler whose callbacks are closures, counting what happened (read these on the loop thread).
final class TestHandler: ChannelHandler {
    var onRead: (Channel, UnsafeMutableRawBufferPointer) -> Void
    var onClosed: (Channel) -> Void = { _ in }
    var onWritable: (Channel) -> Void = { _ in }
    private(set) var received: [UInt8] = []
    private(set) var closedCount = 0
    private(set) var writableCount = 0

    init(onRead: @escaping (Channel, UnsafeMutableRawBufferPointer) -> Void = { _, _ in }) {
        self.onRead = onRead
    }

    func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
        received.append(contentsOf: bytes)
        onRead(channel, bytes)
    }

    func channelClosed(_ channel: Channel) {
        closedCount += 1
        onClosed(channel)
    }

    func channelWritable(_ channel: Channel) {
        writableCount += 1
        onWritable(channel)
    }
}

/// A TCP listener on 127.0.0.1 whose accepted connections are registered with `makeHandler`'s
/// handlers; `channels` holds them in accept order (touch it on the loop thread).
final class TestServer {
    let runner: LoopRunner
    let listenFD: Int32
    let port: Int
    var channels: [Channel] = []
    var handlers: [TestHandler] = []

    init(runner: LoopRunner, makeHandler: @escaping () -> TestHandler) throws {
        self.runner = runner
        listenFD = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: false)
        port = try Socket.boundPort(listenFD)
        let loop = runner.loop
        let fd = listenFD
        runner.sync {
            loop.addListener(fd: fd) { [unowned self] clientFD, _ in
                let handler = makeHandler()
                self.handlers.append(handler)
                self.channels.append(loop.register(fd: clientFD, handler: handler, maxQueuedBytes: LoopRunner.queuedBytesMax))
            }
        }
    }

    /// Waits until `count` connections were accepted, then returns them (and their handlers).
    func accepted(_ count: Int) -> [(Channel, TestHandler)] {
        guard runner.waitUntil({ self.channels.count >= count }) else { return [] }
        return runner.sync { Array(zip(self.channels, self.handlers)) } ?? []
    }

    /// Stops accepting and closes the listening socket.
    func close() {
        let loop = runner.loop
        let fd = listenFD
        runner.sync { loop.removeListener(fd: fd) }
        FileDescriptor.close(listenFD)
    }
}
