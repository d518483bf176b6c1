// GatewayTestCase: the base of the loopback test classes that look inside a running gateway: harness lifetime, loop-thread probes, metrics samples.
import Foundation
import XCTest
import TagarelaJSON
@testable import TagarelaGateway

/// Owns one `GatewayHarness` per test (stopped in `tearDown`) and reads the gateway's state the
/// only safe way: on the thread of the loop that owns it.
class GatewayTestCase: XCTestCase {
    var harness: GatewayHarness?

    override func tearDown() {
        harness?.stop()
        harness = nil
        super.tearDown()
    }

    func start(workers: Int, loops: Int = 1, startWorkers: Bool = true, awaitLinks: Bool = true,
               respond: @escaping FakeWorker.Responder = GatewayHarness.standardReply,
               configure: (inout GatewayConfig) -> Void = { _ in }) throws -> GatewayHarness {
        let h = try GatewayHarness(workerCount: workers, loops: loops, startWorkers: startWorkers,
                                   awaitLinks: awaitLinks, respond: respond, configure: configure)
        harness = h
        return h
    }

    func json(_ text: String?) -> JSON? {
        guard let text = text else { return nil }
        return try? JSON.parse(text)
    }

    /// Runs `body` on loop `index`'s thread and returns what it returns.
    func onLoop<T>(_ h: GatewayHarness, _ index: Int = 0, _ body: @escaping (GatewayLoop) -> T) -> T {
        let loop = h.gateway.loops[index]
        let done = DispatchSemaphore(value: 0)
        var result: T? = nil
        loop.eventLoop.execute {
            result = body(loop)
            done.signal()
        }
        done.wait()
        return result!
    }

    /// The `/metrics` text, gathered without a connection (which would count itself and take a
    /// slot of the connection limits).
    func metricsText(_ h: GatewayHarness) -> String {
        let loop = h.gateway.loops[0]
        let done = DispatchSemaphore(value: 0)
        var text = ""
        loop.eventLoop.execute {
            loop.gatherMetricsText { rendered in
                text = rendered
                done.signal()
            }
        }
        done.wait()
        return text
    }

    /// Every sample of `/metrics` text by `name{labels}` (or `name` alone).
    func samples(_ text: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Int(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    /// Polls `condition` every 5 ms for at most `timeoutMs`; true once it holds.
    @discardableResult
    func waitUntil(timeoutMs: Int = 5_000, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    /// A `login` line for the standard fake worker (the session is the password).
    func loginLine(_ user: String, session: String = "s", id: String = "login") -> String {
        "{\"type\":\"login\",\"request_id\":\"\(id)\",\"username\":\"\(user)\",\"password\":\"\(session)\"}\n"
    }

    /// A new NDJSON client logged in as `user` (in `session`: a second connection of the same
    /// user passes another).
    func loggedIn(_ h: GatewayHarness, _ user: String, session: String = "s", timeoutMs: Int = 3_000,
                  receiveBufferBytes: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> TestClient {
        let c = try TestClient(port: h.port, timeoutMs: timeoutMs, receiveBufferBytes: receiveBufferBytes)
        c.send(loginLine(user, session: session))
        XCTAssertEqual(json(c.readLine())?["status"]?.string, "ok", "login of \(user)", file: file, line: line)
        return c
    }
}
