// Commands: each subcommand's flags, checked and turned into the library's configuration (no I/O, so tests call it).
import TagarelaBus
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
    /// `tagarela layout --bus URLS [--cluster NAME]`: prints the cluster's shard count (deploy/tagarela).
    case layout(BusSettings)
    case help

    static let gatewayFlags: Set<String> = [
        "port", "host", "loops", "workers", "run-dir", "echo-path", "allowed-origins", "requests-per-second",
        "request-burst", "flush-delay-ms", "flush-replies-promptly", "request-timeout-ms", "heartbeat-timeout-ms",
        "log-format", "slow-request-ms", "flush-policy", "flush-spacing-ms", "flush-client-hold-ms", "bus", "cluster",
        "compression", "compression-threshold",
    ]
    static let workerFlags: Set<String> = ["shard", "workers", "data", "socket", "fsync", "pbkdf2-iterations",
                                           "flush-delay-ms", "flush-policy", "log-format", "bus", "cluster",
                                           "attachment-bytes-max"]
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
        case "layout":
            guard let settings = try bus(Options(rest, flags: ["bus", "cluster"], environment: environment)) else {
                throw UsageError("layout needs --bus")
            }
            return .layout(settings)
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
        config.flushPolicy = try flushPolicy(o, default: config.flushPolicy)
        config.flushSpacingMs = Int64(try o.int("flush-spacing-ms", default: Int(config.flushSpacingMs), in: 0...1_000))
        config.clientHoldMs = Int64(try o.int("flush-client-hold-ms", default: Int(config.clientHoldMs), in: 0...1_000))
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
        // Logging (issue 13).
        guard let format = GatewayConfig.LogFormatType(rawValue: o.string("log-format", default: "text")) else { throw UsageError("--log-format must be text or json") }
        config.logWriter = .init(process: "gateway", format: format)
        let writer = config.logWriter
        config.log = { writer.line($0) }
        config.slowRequestMs = Int64(try o.int("slow-request-ms", default: Int(config.slowRequestMs), in: 0...3_600_000))
        config.bus = try bus(o)
        // Under --bus the shard count is the cluster's, read from the bus at start. TAGARELA_WORKERS
        // is not refused: it is there for the workers, whose environment the gateway shares
        // (deploy/tagarela's, the systemd units' environment file).
        if config.bus != nil {
            if o.onCommandLine("workers") {
                throw UsageError("--workers is read from the cluster's layout in the bus under --bus; leave it out")
            }
            config.workers = GatewayConfig().workers
        }
        return config
    }

    /// `--bus URL,URL [--cluster NAME]`: the links ride NATS (nil without `--bus`). Credentials
    /// go in the URLs (`nats://TOKEN@H:P`, `nats://USER:PASS@H:P`); `TAGARELA_BUS` keeps them out
    /// of the process list.
    static func bus(_ o: Options) throws -> BusSettings? {
        guard let urls = o.string("bus"), !urls.isEmpty else {
            if o.string("cluster") != nil { throw UsageError("--cluster needs --bus") }
            return nil
        }
        do {
            return try BusSettings.nats(urls: urls, cluster: o.string("cluster", default: "tagarela"))
        } catch let error as BusConfigError {
            throw UsageError(error.description)
        }
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
        guard let format = WorkerConfig.LogFormatType(rawValue: o.string("log-format", default: "text")) else { throw UsageError("--log-format must be text or json") }
        config.logFormat = format
        config.flushDelayMs = Int64(try o.int("flush-delay-ms", default: Int(config.flushDelayMs), in: 0...1_000))
        config.flushPolicy = try flushPolicy(o, default: config.flushPolicy)
        config.bus = try bus(o)
        // Only lower: the request and response bounds are computed from the protocol's 512 KiB.
        config.attachmentBytesMax = try o.int("attachment-bytes-max", default: config.attachmentBytesMax,
                                              in: 1...WorkerConfig.attachmentBytesCeiling)
        return config
    }

    /// `--flush-policy idle|fixed`, the same on the gateway and the workers (the loop's
    /// `FlushPolicy`, named by its raw values only: this module does not import the loop).
    static func flushPolicy<Policy: RawRepresentable>(_ o: Options, default value: Policy) throws -> Policy
        where Policy.RawValue == String
    {
        guard let policy = Policy(rawValue: o.string("flush-policy", default: value.rawValue)) else {
            throw UsageError("--flush-policy must be idle or fixed")
        }
        return policy
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
                                    [--flush-delay-ms \(g.flushDelayMs)] [--flush-policy idle|fixed] [--flush-spacing-ms \(g.flushSpacingMs)] [--flush-client-hold-ms \(g.clientHoldMs)]
                                    [--flush-replies-promptly yes|no]
                                    [--request-timeout-ms \(g.limits.workerRequestTimeoutMs)] [--heartbeat-timeout-ms \(g.limits.workerHeartbeatTimeoutMs)]
                                    [--log-format text|json] [--slow-request-ms \(g.slowRequestMs)]
                                    [--bus nats://H:P[,nats://H:P...] [--cluster tagarela]]
                                    [--compression on|off] [--compression-threshold \(g.compressionThresholdBytes)]
                   tagarela worker  --shard K --workers N --data DIR --socket PATH
                                    [--fsync always|interval|never] [--pbkdf2-iterations N] [--log-format text|json]
                                    [--flush-delay-ms N] [--flush-policy idle|fixed]
                                    [--bus nats://H:P[,...] [--cluster tagarela]]
                                    [--attachment-bytes-max \(WorkerConfig.attachmentBytesCeiling)]
                   tagarela reshard --data DIR (--to N | --recover [--workers N])
                   tagarela layout  --bus nats://H:P[,...] [--cluster tagarela]   (prints the cluster's shard count)
                   tagarela bench   SCENARIO ...   (tagarela bench --help)
            Every flag also reads TAGARELA_<FLAG> from the environment (TAGARELA_PORT, ...).
            """
    }
}
