// NATSTestLoop: an event loop on its own thread for the NATS tests, with bounded waits and a guaranteed stop.
import Foundation
import TagarelaEventLoop
import TagarelaNATS
import TagarelaSystem
import TestSupport
import XCTest

/// Owns a loop thread; `sync` runs a closure there and waits (bounded); `stop` is idempotent.
final class NATSTestLoop {
    let loop: EventLoop
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init() throws {
        loop = try EventLoop()
        let loop = self.loop
        let finished = self.finished
        Thread {
            loop.run()
            finished.signal()
        }.start()
    }

    deinit { stop() }

    @discardableResult
    func sync<T>(timeoutMs: Int = 5000, file: StaticString = #filePath, line: UInt = #line, _ body: @escaping () -> T) -> T? {
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

    /// Polls `condition` on the loop until it holds; false (and a test failure) after `timeoutMs`.
    @discardableResult
    func waitUntil(timeoutMs: Int = 5000, what: String = "condition", file: StaticString = #filePath, line: UInt = #line,
                   _ condition: @escaping () -> Bool) -> Bool {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while Clock.monotonicMs() < deadline {
            if sync(file: file, line: line, condition) == true { return true }
            usleep(5_000)
        }
        XCTFail("\(what) not met within \(timeoutMs) ms", file: file, line: line)
        return false
    }

    /// A connection to `urls` on this loop, started, with its states and errors recorded.
    /// `adjust` changes the options last (a test that must rule out the PING timeout as the
    /// cause of a drop lengthens the interval).
    func connect(_ urls: String, token: String? = nil, name: String = "test",
                 adjust: @escaping (inout NATSOptions) -> Void = { _ in }) -> Recorder {
        let recorder = Recorder()
        sync {
            var options = NATSOptions(servers: try! NATSServerURL.parseList(urls), token: token, name: name)
            options.reconnectDelayMs = 100
            adjust(&options)
            let connection = NATSConnection(loop: self.loop, options: options)
            connection.onStateChange = { recorder.states.append($0) }
            connection.onError = { recorder.errors.append($0) }
            recorder.connection = connection
            connection.start()
        }
        return recorder
    }

    /// Asks `subject` through `client` (one request at a time) until an answer comes: a
    /// subscription made on another connection is active only once the server has seen it.
    func waitForResponder(_ client: Recorder, _ subject: String, file: StaticString = #filePath, line: UInt = #line) {
        var answered = false
        var asking = false
        waitUntil(what: "a responder on \(subject)", file: file, line: line) {
            if !asking && !answered {
                asking = true
                client.connection.request(subject, payload: [], timeoutMs: 500) {
                    asking = false
                    if case .success = $0 { answered = true }
                }
            }
            return answered
        }
    }

    func stop() {
        if stopped { return }
        stopped = true
        loop.stop()
        if finished.wait(timeout: .now() + .seconds(5)) == .timedOut { XCTFail("event loop thread did not stop") }
    }
}

/// A connection and what it reported (touch on the loop thread).
final class Recorder {
    var connection: NATSConnection!
    var states: [NATSConnectionState] = []
    var errors: [String] = []
    var messages: [NATSMessage] = []
}

/// Skips the test with a message when nats-server is absent.
func requireNATSServer() throws {
    try XCTSkipIf(NATSServerProcess.executable == nil, NATSServerProcess.absentMessage)
}
