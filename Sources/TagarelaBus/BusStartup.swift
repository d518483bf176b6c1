// BusStartup: what a process does with the bus before it serves: reach it (or say clearly why not), on a loop of its own, bounded in time.
import Foundation
import TagarelaEventLoop
import TagarelaNATS

/// Startup work against NATS, done synchronously by the process's main thread: a temporary
/// event loop on a thread of its own carries one connection, `body` runs on it and calls `done`
/// once; past `timeoutMs` the work fails with what the connection last reported. The loop and
/// its connection are gone when this returns.
public enum BusStartup {
    /// How long a process waits for the bus at start (`tagarela gateway|worker --bus`): long
    /// enough for a server list where the first servers are down (each refused at once, or
    /// timed out by the client's handshake bound), short enough that a wrong URL fails fast.
    public static let reachTimeoutMs: Int64 = 10_000

    public static func run<T>(_ settings: BusSettings, name: String, timeoutMs: Int64 = reachTimeoutMs,
                              _ body: @escaping (NATSConnection, _ done: @escaping (Result<T, BusConfigError>) -> Void) -> Void) throws -> T {
        guard var named = settings.nats else { throw BusConfigError("no NATS server list") }
        named.name = name
        let options = named
        let loop = try EventLoop()
        let box = ResultBox<T>()
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            let connection = NATSConnection(loop: loop, options: options)
            var lastError = ""
            var settled = false
            func settle(_ result: Result<T, BusConfigError>) {
                guard !settled else { return }
                settled = true
                box.result = result
                connection.close()
                loop.stop()
            }
            connection.onError = { lastError = $0 }
            var started = false
            connection.onStateChange = { state in
                switch state {
                case .connected:
                    guard !started else { return }
                    started = true
                    body(connection) { settle($0) }
                case .closed(let reason):
                    settle(.failure(BusConfigError("the bus at \(settings.description) closed the connection: \(reason)")))
                case .connecting:
                    break
                }
            }
            loop.schedule(afterMs: timeoutMs) {
                let why = lastError.isEmpty ? "no server answered" : lastError
                settle(.failure(BusConfigError(started
                    ? "the bus at \(settings.description) did not answer within \(timeoutMs) ms (\(why))"
                    : "cannot reach the bus at \(settings.description) within \(timeoutMs) ms: \(why)")))
            }
            connection.start()
            loop.run()
            finished.signal()
        }
        thread.name = "bus-startup"
        thread.start()
        finished.wait()
        return try box.result!.get()
    }

    /// Fails with a clear message unless a server of the list answers (with our credentials).
    public static func checkReachable(_ settings: BusSettings, name: String) throws {
        let _: Bool = try run(settings, name: name) { _, done in done(.success(true)) }
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, BusConfigError>?
}
