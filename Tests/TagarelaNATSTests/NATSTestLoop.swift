// NATSTestLoop: an event loop on its own thread for the NATS tests, the connections they make on it, and a nats-server to reach.
import Foundation
import TagarelaEventLoop
import TagarelaNATS
import TagarelaSystem
import TestSupport
import XCTest

/// An `EventLoop` on its own thread for the NATS tests (see `LoopThread` for `sync`, `waitUntil`
/// and `stop`), with the connections they make on it.
final class NATSTestLoop: LoopThread {
    let loop: EventLoop

    init() throws {
        let loop = try EventLoop()
        self.loop = loop
        // A NATS round trip takes milliseconds: a coarser poll than the loop tests' is plenty.
        super.init(run: loop.run, stop: loop.stop, execute: { loop.execute($0) }, pollIntervalUs: 5_000)
    }

    /// A connection to `urls` (see `connect`), once it is connected (bounded).
    func connected(_ urls: String, name: String = "test", file: StaticString = #filePath, line: UInt = #line) -> Recorder {
        let recorder = connect(urls, name: name)
        waitUntil(what: "\(name) connected", file: file, line: line) { recorder.connection.isConnected }
        return recorder
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

/// A nats-server (one node or a cluster, see `NATSServerProcess.init`) and a loop, for the test to
/// stop in a `defer`; the test is skipped when nats-server is absent.
func natsServerAndLoop(clusterSize: Int = 1, token: String? = nil, user: String? = nil,
                       password: String? = nil) throws -> (NATSServerProcess, NATSTestLoop) {
    try requireNATSServer()
    let server = try NATSServerProcess(clusterSize: clusterSize, token: token, user: user, password: password)
    do {
        return (server, try NATSTestLoop())
    } catch {
        server.stop()
        throw error
    }
}
