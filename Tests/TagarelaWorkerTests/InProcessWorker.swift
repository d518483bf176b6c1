// InProcessWorker: runs a WorkerServer on its own thread in the test process, with settings a test chooses.
import Foundation
import TestSupport
@testable import TagarelaWorker
import XCTest

extension XCTestCase {
    /// Runs a WorkerServer (one shard, fsync never) with `configure` applied, its log lines going
    /// to `log` and `prepare` called before its loop starts; `body` gets its socket path. The
    /// server is stopped at the end whatever happens.
    func withWorker(_ configure: (inout WorkerConfig) -> Void, log: @escaping (String) -> Void = { _ in },
                    prepare: (WorkerServer) -> Void = { _ in }, _ body: (String) throws -> Void) throws {
        let dir = TempDirectory(prefix: "tagarela-inproc")
        defer { dir.remove() }
        var config = WorkerConfig(shard: 0, workers: 1, dataDirectory: dir.path, socketPath: dir.path + "/w.sock")
        config.fsync = .never
        configure(&config)
        try runningWorker(config, log: log, prepare: prepare) { _ in try body(config.socketPath) }
    }

    /// Runs a WorkerServer with `config` on its own thread (`prepare` called before its loop
    /// starts) for as long as `body` runs, and stops it at the end whatever happens.
    func runningWorker<T>(_ config: WorkerConfig, log: @escaping (String) -> Void = { _ in },
                          prepare: (WorkerServer) -> Void = { _ in }, _ body: (WorkerServer) throws -> T) throws -> T {
        let server = try WorkerServer(config: config, log: log)
        prepare(server)
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread { server.run(); finished.signal() }
        thread.start()
        defer {
            server.stop()
            XCTAssertEqual(finished.wait(timeout: .now() + 10), .success, "the worker loop did not stop")
        }
        return try body(server)
    }
}
