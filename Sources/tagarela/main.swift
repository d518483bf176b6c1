// The tagarela executable: parses the subcommand's flags into a configuration and hands over to library code.
import Foundation
import TagarelaBench
import TagarelaGateway
import TagarelaStore
import TagarelaWorker

let usage = """
    usage: tagarela gateway --port P [--host 127.0.0.1] [--loops N] [--echo-path /echo]
                            [--workers N --run-dir DIR] [--allowed-origins URL,URL]
                            [--requests-per-second 50] [--request-burst 100]
                            [--flush-delay-ms N] [--flush-replies-promptly yes|no]
                            [--request-timeout-ms 10000] [--heartbeat-timeout-ms 5000]
           tagarela worker  --shard K --workers N --data DIR --socket PATH
                            [--fsync always|interval|never] [--pbkdf2-iterations N]
           tagarela reshard --data DIR (--to N | --recover [--workers N])
           tagarela bench   SCENARIO ...   (tagarela bench --help)
    Every flag also reads TAGARELA_<FLAG> from the environment (TAGARELA_PORT, ...).
    """

func log(_ line: String) {
    FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
}

func runGateway(_ o: Options) throws {
    var config = GatewayConfig()
    config.port = try o.int("port", default: 5000)
    config.host = o.string("host", default: "127.0.0.1")
    config.loops = try o.int("loops", default: config.loops)
    config.workers = try o.int("workers", default: 0)
    config.runDir = o.string("run-dir", default: ".")
    if let echo = o.string("echo-path"), !echo.isEmpty { config.echoPath = echo }
    if let origins = o.string("allowed-origins"), !origins.isEmpty {
        config.allowedOrigins = origins.split(separator: ",").map(String.init)
    }
    config.limits.requestsPerSecond = try o.int("requests-per-second", default: config.limits.requestsPerSecond)
    config.limits.requestBurst = try o.int("request-burst", default: config.limits.requestBurst)
    // RateLimitPolicy refuses a zero rate or burst (it would refuse every request forever).
    guard config.limits.requestsPerSecond >= 1, config.limits.requestBurst >= 1 else {
        throw UsageError("--requests-per-second and --request-burst must be at least 1")
    }
    config.flushDelayMs = Int64(try o.int("flush-delay-ms", default: Int(config.flushDelayMs)))
    guard (0...1_000).contains(config.flushDelayMs) else { throw UsageError("--flush-delay-ms must be 0...1000") }
    switch o.string("flush-replies-promptly", default: config.flushRepliesPromptly ? "yes" : "no") {
    case "yes": config.flushRepliesPromptly = true
    case "no": config.flushRepliesPromptly = false
    default: throw UsageError("--flush-replies-promptly must be yes or no")
    }
    config.limits.workerRequestTimeoutMs = Int64(try o.int("request-timeout-ms", default: Int(config.limits.workerRequestTimeoutMs)))
    config.limits.workerHeartbeatTimeoutMs = Int64(try o.int("heartbeat-timeout-ms",
                                                             default: Int(config.limits.workerHeartbeatTimeoutMs)))
    // Under 100 ms a busy but healthy worker would be cut off; above an hour nothing is bounded.
    guard (100...3_600_000).contains(config.limits.workerRequestTimeoutMs),
          (100...3_600_000).contains(config.limits.workerHeartbeatTimeoutMs) else {
        throw UsageError("--request-timeout-ms and --heartbeat-timeout-ms must be 100...3600000")
    }
    // At least a few pings per timeout, so one late pong is not yet a miss.
    config.limits.workerHeartbeatIntervalMs = min(config.limits.workerHeartbeatIntervalMs,
                                                  config.limits.workerHeartbeatTimeoutMs / 4)
    try Gateway.run(config)
}

func runWorker(_ o: Options) throws {
    var config = WorkerConfig(shard: try o.int("shard", default: -1), workers: try o.int("workers", default: 0),
                              dataDirectory: try o.required("data"), socketPath: try o.required("socket"))
    guard config.workers >= 1, (0..<config.workers).contains(config.shard) else {
        throw UsageError("--shard K and --workers N with 0 <= K < N are required")
    }
    let fsync = o.string("fsync", default: "always")
    guard let policy = FsyncPolicy(rawValue: fsync) else { throw UsageError("--fsync must be always, interval or never") }
    config.fsync = policy
    config.pbkdf2Iterations = try o.int("pbkdf2-iterations", default: config.pbkdf2Iterations)
    guard config.pbkdf2Iterations >= 1 else { throw UsageError("--pbkdf2-iterations must be at least 1") }
    try Worker.run(config)
}

func runReshard(_ o: Options) throws {
    let data = try o.required("data")
    if o.flag("recover") {
        let workers = o.string("workers").flatMap(Int.init)
        try Resharding.recover(dataDirectory: data, workers: workers, log: log)
    } else {
        let to = try o.int("to", default: 0)
        guard to >= 1 else { throw UsageError("--to N (N >= 1) or --recover is required") }
        try Resharding.run(dataDirectory: data, to: to, log: log)
    }
}

let arguments = CommandLine.arguments
let command = arguments.count > 1 ? arguments[1] : ""
do {
    switch command {
    case "gateway": try runGateway(try Options(arguments.dropFirst(2)))
    case "worker": try runWorker(try Options(arguments.dropFirst(2)))
    case "reshard": try runReshard(try Options(arguments.dropFirst(2), switchNames: ["recover"]))
    case "bench": exit(Bench.main(Array(arguments.dropFirst(2))))
    case "-h", "--help", "help": print(usage)
    default:
        log(usage)
        exit(2)
    }
} catch let error as UsageError {
    log("tagarela: \(error.description)\n\(usage)")
    exit(2)
} catch {
    log("tagarela \(command): \(error)")
    exit(1)
}
