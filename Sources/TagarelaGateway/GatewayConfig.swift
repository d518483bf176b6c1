// GatewayConfig: every setting of the gateway process, with the defaults the command line starts from.
import Foundation
import TagarelaSystem
import TagarelaBus
import TagarelaEventLoop
import TagarelaLink
import TagarelaWire

/// The settings of one gateway process (`tagarela gateway`; README.md "Configuration").
public struct GatewayConfig {
    /// Address to listen on (`--host`, whose default this is). Loopback only unless asked:
    /// an instance started to try it out must not serve other machines.
    public var host: String = "127.0.0.1"
    /// TCP port (`--port`); 0 picks a free port, read back from `Gateway.port` (tests).
    public var port: Int = 5000
    /// Event loops, one thread each, each with its own SO_REUSEPORT listener (`--loops`).
    public var loops: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// The WebSocket echo route for the Autobahn suite (`--echo-path /echo`); nil = off.
    public var echoPath: String? = nil
    /// Number of workers (`--workers`); 0 runs the gateway alone (chat requests get `unavailable`).
    public var workers: Int = 0
    /// Folder holding `worker-K.sock` for each worker (`--run-dir`).
    public var runDir: String = "."
    /// The user id a worker must run as: the gateway checks the process behind each worker
    /// socket (SO_PEERCRED) before it sends a request, since requests carry logins' passwords.
    /// Another account that binds the socket's path while the worker is down (possible when
    /// `runDir` is not the instance's private folder) is refused. Default: our own user id.
    public var workerPeerUID: UInt32 = UInt32(geteuid())
    /// Allowed `Origin` values for WebSocket upgrades; nil accepts any origin (PROTOCOL.md 1.1).
    public var allowedOrigins: [String]? = nil
    /// Every size, rate and time bound (TagarelaWire `Limits`).
    public var limits: Limits = Limits()
    /// Output coalescing (`--flush-delay-ms`, 0 = off): the longest a connection's output (a
    /// client's or a worker link's) may wait for more before it is written, unless
    /// `flushHoldBytesMax` bytes are already queued. Under load each client then gets fewer,
    /// larger writes (on loopback most of a write's cost is per system call and per TCP segment,
    /// not per byte). Under `flushPolicy` `.whenIdle` output waits only while the loop has more
    /// input ready, so this is the bound under load, not a delay every message pays.
    /// See Benchmarks/README.md for the measured trade-off.
    public var flushDelayMs: Int64 = 5
    /// Output coalescing (`--flush-policy idle|fixed`): hold output only while the loop is busy
    /// (`.whenIdle`, the default since issue 13), or always up to `flushDelayMs` (`.fixedDelay`,
    /// the earlier behaviour: fewest writes, but the full delay at light load too).
    public var flushPolicy: EventLoop.FlushPolicy = .whenIdle
    /// Output coalescing (`--flush-spacing-ms`, 0 = off; `.whenIdle` only): a client written
    /// less than this long ago waits, idle loop or not, until this long after that write (never
    /// past `flushDelayMs`): Nagle's rule per connection. It trades some light-load latency for
    /// fewer writes to clients that receive many messages (Benchmarks/README.md).
    public var flushSpacingMs: Int64 = 0
    /// Output coalescing (`--flush-client-hold-ms`, 0 = off; `.whenIdle` only): a client's output
    /// waits this long from its oldest byte, idle loop or not (never past `flushDelayMs`), while
    /// worker links keep the idle rule: a short fixed delay where fan-out bursts land, none on
    /// the request path. 1 = until the next millisecond tick (Benchmarks/README.md).
    public var clientHoldMs: Int64 = 0
    /// Queued bytes past which a client's output is written at once, delay or not.
    public var flushHoldBytesMax: Int = EventLoop.defaultFlushHoldBytesMax
    /// With a flush delay: write replies to a client's own request (and gateway-made messages) in
    /// the turn they are made, so only fan-out waits (`--flush-replies-promptly yes`). Off by
    /// default: in the chat benchmark every sender then costs one more writev per message, which
    /// gave back most of what the delay saved (p99 delivery 83 ms against 46 ms at 40 msg/s/user).
    public var flushRepliesPromptly: Bool = false
    /// WebSocket permessage-deflate (`--compression on|off`): offered to clients when zlib loads.
    public var compression: Bool = true
    /// Messages shorter than this go uncompressed (`--compression-threshold`). 64: chat JSON under
    /// it shrinks by a few bytes at best and can grow (a 42-byte request deflates to 44 with a
    /// fresh context), while a 130-byte reply shrinks to 91 and a 190-byte `message:new` to 130
    /// (measured with zlib level 6, raw, no context; PROTOCOL.md 3.x).
    public var compressionThresholdBytes: Int = 64
    /// The zlib library loaded at start (a name for dlopen, or a path); tests name a missing one.
    public var zlibLibraryName: String = "libz.so.1"
    /// `/healthz` waits this long for every worker's link pong before answering 503.
    public var healthTimeoutMs: Int64 = 1_000
    /// First and largest delay between attempts to (re)connect a worker's link; the delay doubles
    /// after each failure so a restarting worker is not hammered.
    public var linkReconnectMinMs: Int64 = 50
    public var linkReconnectMaxMs: Int64 = 2_000
    // Logging (issue 13): the format of every line, and the duration past which a request is
    // logged as slow (0 logs every request: for debugging, never a default).
    public var logWriter = LogWriter(process: "gateway", format: .text)
    public var slowRequestMs: Int64 = 1_000
    /// The log format type, named for callers that do not import TagarelaSystem (the executable).
    public typealias LogFormatType = LogFormat

    /// The bus carrying the links (`--bus`, `--cluster`); nil: Unix sockets in `runDir`.
    public var bus: BusSettings? = nil
    /// Where log lines go (one line each, no trailing newline).
    public var log: (String) -> Void = { line in
        FileHandle.standardError.write(Data(("gateway: " + line + "\n").utf8))
    }

    /// The defaults.
    public init() {}

    /// The socket path of worker `k`: `runDir/worker-K.sock`.
    public func workerSocketPath(_ k: Int) -> String {
        (runDir.hasSuffix("/") ? runDir : runDir + "/") + "worker-\(k).sock"
    }

    /// What worker `k` published in its stats file (TagarelaLink's `WorkerStatsFile`), or nil when
    /// there is none (the worker has not started, or is of a version that writes none). Read
    /// for each `/metrics` answer: a few bytes from the run folder.
    public func workerStats(_ k: Int) -> [String: Int]? {
        guard let text = try? String(contentsOfFile: WorkerStatsFile.path(forSocket: workerSocketPath(k)), encoding: .utf8) else {
            return nil
        }
        return WorkerStatsFile.decode(text)
    }

    /// The rate-limit settings carried by `limits`.
    var rateLimitPolicy: RateLimitPolicy {
        RateLimitPolicy(ratePerSecond: limits.requestsPerSecond, burst: limits.requestBurst,
                        strikesMax: limits.rateLimitedErrorsMax, strikeWindowMs: limits.rateLimitedWindowMs)
    }

    /// How often each loop checks its worker links' request deadlines and heartbeats: every
    /// heartbeat interval, and at least four times per request deadline (so an overdue request
    /// is answered within a quarter of the deadline past it), but not more than every 10 ms.
    var linkTickIntervalMs: Int64 {
        max(10, min(limits.workerHeartbeatIntervalMs, limits.workerRequestTimeoutMs / 4))
    }

    /// How often each loop sweeps its connections for handshake, ping, close, unfinished-input
    /// and abuse-close deadlines: a quarter of the shortest deadline, between 10 ms and 1 s.
    var sweepIntervalMs: Int64 {
        let shortest = min(limits.handshakeTimeoutMs, limits.idlePingIntervalMs, limits.closeHandshakeTimeoutMs,
                           limits.partialInputTimeoutMs, limits.closingAnswersWaitMs)
        return max(10, min(1_000, shortest / 4))
    }
}
