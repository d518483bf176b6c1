// CommandTests: the command line is checked before anything starts: unknown flags, out-of-range values, and the defaults it shares with the library.
@testable import tagarela
import TagarelaGateway
import XCTest

final class CommandTests: XCTestCase {
    private func parse(_ line: String, environment: [String: String] = [:]) throws -> Command {
        try Command.parse(line.split(separator: " ").map(String.init), environment: environment)
    }

    private func gateway(_ line: String, environment: [String: String] = [:]) throws -> GatewayConfig {
        guard case .gateway(let config) = try parse("gateway " + line, environment: environment) else {
            throw UsageError("not a gateway command")
        }
        return config
    }

    /// The usage error `line` draws (nil when it parses).
    private func refusal(_ line: String) -> String? {
        do {
            _ = try parse(line)
            return nil
        } catch let error as UsageError {
            return error.description
        } catch {
            return "unexpected \(error)"
        }
    }

    /// Checks each command line is refused with exactly its message (a table: one line per case).
    private func assertRefused(_ cases: KeyValuePairs<String, String>, file: StaticString = #filePath, line: UInt = #line) {
        for (command, message) in cases {
            XCTAssertEqual(refusal(command), message, "for '\(command)'", file: file, line: line)
        }
    }

    /// `--loops 0` used to reach Gateway.init's precondition (a crash, not a message).
    func testZeroLoopsIsRefusedWithAMessage() {
        XCTAssertEqual(refusal("gateway --port 5000 --loops 0"), "--loops must be at least 1, not 0")
        XCTAssertEqual(refusal("gateway --loops -3"), "--loops must be at least 1, not -3")
        XCTAssertEqual(try gateway("--loops 1").loops, 1)
    }

    /// A misspelt flag used to be ignored, so the default ran instead of what the operator asked.
    func testUnknownFlagsAreRefusedByName() {
        assertRefused([
            "gateway --port 5000 --loop 4": "unknown flag --loop",
            // a worker flag is not a gateway flag
            "gateway --fsync never": "unknown flag --fsync",
            "worker --shard 0 --workers 1 --data d --socket s --loops 2": "unknown flag --loops",
            "reshard --data d --to 2 --recovr": "unknown flag --recovr",
            "gateway --port=5000 --hots=0.0.0.0": "unknown flag --hots",
            "gateway 5000": "unexpected argument '5000'",
            "reshard --data d --recover=yes": "--recover takes no value",
            "gateway --port": "--port needs a value",
            "serve --port 1": "unknown subcommand 'serve'",
        ])
    }

    /// Every flag deploy/tagarela and the systemd units pass is accepted.
    func testCompressionFlags() throws {
        let defaults = try gateway("--port 1")
        XCTAssertTrue(defaults.compression)
        XCTAssertEqual(defaults.compressionThresholdBytes, 64)
        let off = try gateway("--port 1 --compression off --compression-threshold 200")
        XCTAssertFalse(off.compression)
        XCTAssertEqual(off.compressionThresholdBytes, 200)
        let fromEnvironment = try Command.parse(["gateway"], environment: ["TAGARELA_COMPRESSION": "off",
                                                                           "TAGARELA_COMPRESSION_THRESHOLD": "10"])
        guard case .gateway(let config) = fromEnvironment else { return XCTFail("not a gateway") }
        XCTAssertFalse(config.compression)
        XCTAssertEqual(config.compressionThresholdBytes, 10)
    }

    func testTheSupervisorsFlagsAreAccepted() throws {
        let config = try gateway("--port 5001 --host 127.0.0.2 --workers 3 --run-dir /r --echo-path /echo --loops 2 "
                                 + "--requests-per-second 7 --request-burst 9 --flush-delay-ms 0 "
                                 + "--request-timeout-ms 2000 --heartbeat-timeout-ms 1000 --flush-replies-promptly yes "
                                 + "--allowed-origins http://a,http://b")
        XCTAssertEqual(config.port, 5001)
        XCTAssertEqual(config.host, "127.0.0.2")
        XCTAssertEqual(config.workers, 3)
        XCTAssertEqual(config.workerSocketPath(1), "/r/worker-1.sock")
        XCTAssertEqual(config.echoPath, "/echo")
        XCTAssertEqual(config.loops, 2)
        XCTAssertEqual(config.limits.requestsPerSecond, 7)
        XCTAssertEqual(config.limits.requestBurst, 9)
        XCTAssertEqual(config.flushDelayMs, 0)
        XCTAssertEqual(config.limits.workerRequestTimeoutMs, 2000)
        XCTAssertEqual(config.limits.workerHeartbeatTimeoutMs, 1000)
        XCTAssertEqual(config.limits.workerHeartbeatIntervalMs, 250, "a quarter of the heartbeat timeout")
        XCTAssertTrue(config.flushRepliesPromptly)
        XCTAssertEqual(config.allowedOrigins, ["http://a", "http://b"])

        guard case .worker(let worker) = try parse("worker --shard 1 --workers 2 --data /d --socket /d/run/worker-1.sock "
                                                   + "--fsync never --pbkdf2-iterations 1000") else {
            return XCTFail("a worker command")
        }
        XCTAssertEqual(worker.shard, 1)
        XCTAssertEqual(worker.fsync, .never)
        XCTAssertEqual(worker.pbkdf2Iterations, 1000)
        guard case .reshardRecover(let data, let workers) = try parse("reshard --data /d --recover --workers 2") else {
            return XCTFail("a recovery")
        }
        XCTAssertEqual(data, "/d")
        XCTAssertEqual(workers, 2)
        guard case .reshard(_, let to) = try parse("reshard --data /d --to 4") else { return XCTFail("a reshard") }
        XCTAssertEqual(to, 4)
    }

    /// The library and the command line listen on the same address by default: loopback.
    func testTheDefaultHostIsDefinedOnceAndIsLoopback() throws {
        XCTAssertEqual(GatewayConfig().host, "127.0.0.1")
        XCTAssertEqual(try gateway("").host, GatewayConfig().host)
        XCTAssertEqual(try gateway("").port, GatewayConfig().port)
        XCTAssertTrue(Command.usage.contains("[--host 127.0.0.1]"))
    }

    /// TAGARELA_<FLAG> fills in a flag that is not given; the flag wins over it.
    func testEnvironmentFillsInFlags() throws {
        XCTAssertEqual(try gateway("", environment: ["TAGARELA_LOOPS": "3"]).loops, 3)
        XCTAssertEqual(try gateway("--loops 2", environment: ["TAGARELA_LOOPS": "3"]).loops, 2)
        XCTAssertEqual(try gateway("", environment: ["TAGARELA_ALLOWED_ORIGINS": "http://x"]).allowedOrigins, ["http://x"])
    }

    func testOutOfRangeValuesAreRefused() {
        assertRefused([
            "gateway --port 70000": "--port must be 0...65535, not 70000",
            "gateway --workers -1": "--workers must be at least 0, not -1",
            "gateway --request-burst 0": "--request-burst must be at least 1, not 0",
            "gateway --flush-delay-ms 5000": "--flush-delay-ms must be 0...1000, not 5000",
            "gateway --request-timeout-ms 50": "--request-timeout-ms must be 100...3600000, not 50",
            "gateway --loops two": "--loops must be a whole number, not 'two'",
            "gateway --flush-replies-promptly maybe": "--flush-replies-promptly must be yes or no",
            "gateway --compression maybe": "--compression must be on or off",
            "gateway --compression-threshold 2000000": "--compression-threshold must be 0...1048576, not 2000000",
            "worker --shard 2 --workers 2 --data d --socket s": "--shard K and --workers N with 0 <= K < N are required",
            "worker --shard 0 --workers 1 --data d --socket s --pbkdf2-iterations 0":
                "--pbkdf2-iterations must be at least 1, not 0",
            "worker --shard 0 --workers 1 --data d --socket s --attachment-bytes-max 524289":
                "--attachment-bytes-max must be 1...524288, not 524289",
            "reshard --data d --recover --workers x": "--workers must be a whole number, not 'x'",
            "reshard --data d": "--to N (N >= 1) or --recover is required",
        ])
        if case .worker(let worker) = try? parse("worker --shard 0 --workers 1 --data d --socket s --attachment-bytes-max 1000") {
            XCTAssertEqual(worker.attachmentBytesMax, 1000)
        } else {
            XCTFail("a worker command with a lower attachment size")
        }
    }

    // MARK: - Output coalescing policy (issue 13)

    /// `--flush-policy` (and `--flush-delay-ms`, the bound) reach the gateway and the workers alike.
    func testTheFlushPolicyIsParsedForGatewayAndWorker() throws {
        XCTAssertEqual(try gateway("").flushPolicy.rawValue, "idle", "adaptive by default")
        XCTAssertEqual(try gateway("--flush-policy fixed").flushPolicy.rawValue, "fixed")
        XCTAssertEqual(try gateway("", environment: ["TAGARELA_FLUSH_POLICY": "fixed"]).flushPolicy.rawValue, "fixed")
        guard case .worker(let worker) = try parse("worker --shard 0 --workers 1 --data d --socket s "
                                                   + "--flush-policy fixed --flush-delay-ms 2") else {
            return XCTFail("a worker command")
        }
        XCTAssertEqual(worker.flushPolicy.rawValue, "fixed")
        XCTAssertEqual(worker.flushDelayMs, 2)
        XCTAssertEqual(try gateway("--flush-spacing-ms 3").flushSpacingMs, 3)
        XCTAssertEqual(try gateway("--flush-client-hold-ms 1").clientHoldMs, 1)
        XCTAssertEqual(refusal("gateway --flush-policy sometimes"), "--flush-policy must be idle or fixed")
        XCTAssertEqual(refusal("worker --shard 0 --workers 1 --data d --socket s --flush-delay-ms 5000"),
                       "--flush-delay-ms must be 0...1000, not 5000")
    }

    /// Under --bus the shard count is the cluster's: --workers on the command line is refused, but
    /// TAGARELA_WORKERS (there for the workers, in the environment the gateway shares with them:
    /// `TAGARELA_WORKERS=4 deploy/tagarela start --bus ...`, the systemd environment file) used to
    /// be refused too, so the gateway never started.
    func testUnderTheBusTheWorkerCountOfTheEnvironmentIsLeftToTheWorkers() throws {
        let bus = "gateway --bus nats://127.0.0.1:4222"
        XCTAssertEqual(refusal(bus + " --workers 2"), "--workers is read from the cluster's layout in the bus under --bus; leave it out")
        let config = try gateway("--bus nats://127.0.0.1:4222", environment: ["TAGARELA_WORKERS": "4"])
        XCTAssertNotNil(config.bus)
        XCTAssertEqual(config.workers, 0, "read from the bus at start")
        XCTAssertEqual(try gateway("", environment: ["TAGARELA_WORKERS": "4"]).workers, 4, "without the bus it is the count")
    }
}
