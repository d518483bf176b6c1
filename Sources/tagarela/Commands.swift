// Commands: each subcommand's flags, checked and turned into the library's configuration (no I/O, so tests call it).
import TagarelaGateway
import TagarelaStore
import TagarelaWorker

/// What `tagarela <subcommand> ...` asks for, once its flags are checked.
enum Command {
    case gateway(GatewayConfig)
    case worker(WorkerConfig)
    case reshardRecover(data: String, workers: Int?)
    case reshard(data: String, to: Int)
    case bench([String])
    case help

    static let gatewayFlags: Set<String> = [
        "port", "host", "loops", "workers", "run-dir", "echo-path", "allowed-origins", "requests-per-second",
        "request-burst", "flush-delay-ms", "flush-replies-promptly", "request-timeout-ms", "heartbeat-timeout-ms",
        "compression", "compression-threshold",
    ]
    static let workerFlags: Set<String> = ["shard", "workers", "data", "socket", "fsync", "pbkdf2-iterations"]
    static let reshardFlags: Set<String> = ["data", "to", "workers"]

    /// The command `arguments` (without the program name) ask for; a mistake is a `UsageError`.
    static func parse(_ arguments: [String], environment: [String: String]) throws -> Command {
        let rest = arguments.dropFirst()
        switch arguments.first ?? "" {
        case "gateway": return .gateway(try gateway(Options(rest, flags: gatewayFlags, environment: environment)))
        case "worker": return .worker(try worker(Options(rest, flags: workerFlags, environment: environment)))
        case "reshard":
            return try reshard(Options(rest, flags: reshardFlags, switches: ["recover"], environment: environment))
        case "bench": return .bench(Array(rest))
        case "-h", "--help", "help": return .help
        case "": throw UsageError("a subcommand is required")
        case let other: throw UsageError("unknown subcommand '\(other)'")
        }
    }

    static func gateway(_ o: Options) throws -> GatewayConfig {
        var config = GatewayConfig()
        config.port = try o.int("port", default: config.port, in: 0...65_535)
        config.host = o.string("host", default: config.host)
        // Each loop is a thread with its own listener; Gateway.init treats 0 as a programmer error.
        config.loops = try o.int("loops", default: config.loops, in: 1...Int.max)
        config.workers = try o.int("workers", default: config.workers, in: 0...Int.max)
        config.runDir = o.string("run-dir", default: config.runDir)
        if let echo = o.string("echo-path"), !echo.isEmpty { config.echoPath = echo }
        if let origins = o.string("allowed-origins"), !origins.isEmpty {
            config.allowedOrigins = origins.split(separator: ",").map(String.init)
        }
        // RateLimitPolicy refuses a zero rate or burst (it would refuse every request forever).
        config.limits.requestsPerSecond = try o.int("requests-per-second", default: config.limits.requestsPerSecond,
                                                    in: 1...Int.max)
        config.limits.requestBurst = try o.int("request-burst", default: config.limits.requestBurst, in: 1...Int.max)
        config.flushDelayMs = Int64(try o.int("flush-delay-ms", default: Int(config.flushDelayMs), in: 0...1_000))
        switch o.string("flush-replies-promptly", default: config.flushRepliesPromptly ? "yes" : "no") {
        case "yes": config.flushRepliesPromptly = true
        case "no": config.flushRepliesPromptly = false
        default: throw UsageError("--flush-replies-promptly must be yes or no")
        }
        // Under 100 ms a busy but healthy worker would be cut off; above an hour nothing is bounded.
        config.limits.workerRequestTimeoutMs = Int64(try o.int("request-timeout-ms",
                                                               default: Int(config.limits.workerRequestTimeoutMs),
                                                               in: 100...3_600_000))
        config.limits.workerHeartbeatTimeoutMs = Int64(try o.int("heartbeat-timeout-ms",
                                                                 default: Int(config.limits.workerHeartbeatTimeoutMs),
                                                                 in: 100...3_600_000))
        // WebSocket permessage-deflate (PROTOCOL.md 1.1); the threshold at most the message limit.
        switch o.string("compression", default: config.compression ? "on" : "off") {
        case "on": config.compression = true
        case "off": config.compression = false
        default: throw UsageError("--compression must be on or off")
        }
        config.compressionThresholdBytes = try o.int("compression-threshold", default: config.compressionThresholdBytes,
                                                     in: 0...config.limits.webSocketMessageBytesMax)
        // At least a few pings per timeout, so one late pong is not yet a miss.
        config.limits.workerHeartbeatIntervalMs = min(config.limits.workerHeartbeatIntervalMs,
                                                      config.limits.workerHeartbeatTimeoutMs / 4)
        return config
    }

    static func worker(_ o: Options) throws -> WorkerConfig {
        var config = WorkerConfig(shard: try o.int("shard", default: -1), workers: try o.int("workers", default: 0),
                                  dataDirectory: try o.required("data"), socketPath: try o.required("socket"))
        guard config.workers >= 1, (0..<config.workers).contains(config.shard) else {
            throw UsageError("--shard K and --workers N with 0 <= K < N are required")
        }
        let fsync = o.string("fsync", default: config.fsync.rawValue)
        guard let policy = FsyncPolicy(rawValue: fsync) else { throw UsageError("--fsync must be always, interval or never") }
        config.fsync = policy
        config.pbkdf2Iterations = try o.int("pbkdf2-iterations", default: config.pbkdf2Iterations, in: 1...Int.max)
        return config
    }

    static func reshard(_ o: Options) throws -> Command {
        let data = try o.required("data")
        if o.flag("recover") {
            let workers = try o.string("workers").map { _ in try o.int("workers", default: 0, in: 1...Int.max) }
            return .reshardRecover(data: data, workers: workers)
        }
        let to = try o.int("to", default: 0)
        guard to >= 1 else { throw UsageError("--to N (N >= 1) or --recover is required") }
        return .reshard(data: data, to: to)
    }

    /// The usage text; the defaults it shows are read from the configurations, never copied.
    static var usage: String {
        let g = GatewayConfig()
        return """
            usage: tagarela gateway --port P [--host \(g.host)] [--loops N] [--echo-path /echo]
                                    [--workers N --run-dir DIR] [--allowed-origins URL,URL]
                                    [--requests-per-second \(g.limits.requestsPerSecond)] [--request-burst \(g.limits.requestBurst)]
                                    [--flush-delay-ms N] [--flush-replies-promptly yes|no]
                                    [--request-timeout-ms \(g.limits.workerRequestTimeoutMs)] [--heartbeat-timeout-ms \(g.limits.workerHeartbeatTimeoutMs)]
                                    [--compression on|off] [--compression-threshold \(g.compressionThresholdBytes)]
                   tagarela worker  --shard K --workers N --data DIR --socket PATH
                                    [--fsync always|interval|never] [--pbkdf2-iterations N]
                   tagarela reshard --data DIR (--to N | --recover [--workers N])
                   tagarela bench   SCENARIO ...   (tagarela bench --help)
            Every flag also reads TAGARELA_<FLAG> from the environment (TAGARELA_PORT, ...).
            """
    }
}
