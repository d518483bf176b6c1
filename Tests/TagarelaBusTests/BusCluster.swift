// BusCluster: gateways and workers in this test process, linked by a LocalBus, started and stopped around a test.
import Foundation
import TagarelaBus
import TagarelaEventLoop
@testable import TagarelaGateway
@testable import TagarelaWorker
import TestSupport
import XCTest

/// A cluster as several hosts would run it, in one process: `workers` shard workers (each in its
/// own data folder, as if on its own host) and `gateways` gateways, every link over `broker`.
final class BusCluster {
    let broker: LocalBusBroker
    let subjects = BusSubjects(cluster: "test")!
    private(set) var gateways: [Gateway] = []
    private(set) var servers: [WorkerServer?] = []
    private var finished: [DispatchSemaphore?] = []
    private let dirs: [TempDirectory]
    let workerCount: Int
    var logs = LogLines()

    init(workers: Int, gateways: Int, loops: Int = 2, maxPayload: Int = 1 << 20,
         configureWorker: (inout WorkerConfig) -> Void = { _ in },
         configureGateway: (inout GatewayConfig) -> Void = { _ in }) throws {
        broker = LocalBusBroker(maxPayload: maxPayload)
        workerCount = workers
        dirs = (0..<workers).map { _ in TempDirectory(prefix: "tagarela-bus") }
        servers = Array(repeating: nil, count: workers)
        finished = Array(repeating: nil, count: workers)
        for k in 0..<workers { try startWorker(k, configure: configureWorker) }
        for _ in 0..<gateways {
            var config = GatewayConfig()
            config.port = 0
            config.loops = loops
            config.workers = workers
            config.linkReconnectMinMs = 20
            config.linkReconnectMaxMs = 200
            config.bus = settings
            let logs = self.logs
            config.log = { logs.append("gateway: " + $0) }
            configureGateway(&config)
            let gateway = try Gateway(config: config)
            gateway.start()
            self.gateways.append(gateway)
        }
    }

    var settings: BusSettings {
        let broker = self.broker
        return BusSettings(subjects: subjects, description: "local") { loop, _ in broker.connect(loop: loop) }
    }

    func startWorker(_ k: Int, configure: (inout WorkerConfig) -> Void = { _ in }) throws {
        var config = WorkerConfig(shard: k, workers: workerCount, dataDirectory: dirs[k].path, socketPath: dirs[k].path + "/w.sock")
        config.fsync = .never
        config.pbkdf2Iterations = 1000
        config.bus = settings
        configure(&config)
        let logs = self.logs
        let server = try WorkerServer(config: config, log: { logs.append("worker \(k): " + $0) })
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { server.run(); done.signal() }
        thread.start()
        servers[k] = server
        finished[k] = done
        // Serving means subscribed to the shard's subject, which the worker's thread does once
        // it runs: a request published before that reaches no one (on NATS: no responders).
        let deadline = Date().addingTimeInterval(15)
        while broker.subscriberCount(subjects.shard(k)) == 0 && Date() < deadline { usleep(5_000) }
        XCTAssertEqual(broker.subscriberCount(subjects.shard(k)), 1, "worker \(k) does not serve its shard on the bus")
    }

    /// Stops worker `k` as a crash would look from the bus: its connection goes silent.
    func stopWorker(_ k: Int) {
        guard let server = servers[k] else { return }
        server.stop()
        XCTAssertEqual(finished[k]?.wait(timeout: .now() + 10), .success, "worker \(k) did not stop")
        servers[k] = nil
    }

    func stop() {
        for g in gateways { g.stop() }
        for k in 0..<servers.count { stopWorker(k) }
        for d in dirs { d.remove() }
    }

    func client(_ gateway: Int, _ label: String) throws -> E2EChatClient {
        try E2EChatClient(.ndjson, port: gateways[gateway].port, label: label)
    }

    /// Alice on gateway `aliceOn` and Bob on gateway `bobOn`, each registered and logged in, once
    /// every link is up: the start of most cross-gateway tests. Each client closes when released;
    /// a test closes one early to end its connection.
    func aliceAndBob(aliceOn: Int = 0, bobOn: Int = 1) throws -> (alice: E2EChatClient, bob: E2EChatClient) {
        waitForLinks()
        let alice = try client(aliceOn, "alice")
        let bob = try client(bobOn, "bob")
        try alice.registerAndLogin(E2EUser("alice"))
        try bob.registerAndLogin(E2EUser("bob"))
        return (alice, bob)
    }

    /// Waits (bounded, generously: threads start late on a loaded machine) until every loop of
    /// every gateway has its link to every shard up.
    func waitForLinks(timeoutMs: Int = 15_000) {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            if gateways.allSatisfy({ g in g.linksUp() }) { return }
            usleep(20_000)
        }
        XCTFail("bus links did not come up; log:\n\(logs.all.joined(separator: "\n"))")
    }
}

extension Gateway {
    /// True when every loop's link to every worker is up (read from the loops' threads).
    func linksUp() -> Bool {
        var up = true
        for loop in loops {
            let done = DispatchSemaphore(value: 0)
            var loopUp = false
            loop.eventLoop.execute {
                loopUp = loop.links.allSatisfy(\.isUp)
                done.signal()
            }
            if done.wait(timeout: .now() + 2) != .success || !loopUp { up = false }
        }
        return up
    }
}
