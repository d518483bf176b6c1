// BenchOptions: the command line of `tagarela bench`, parsed into one value with defaults and bounds.

/// The transport the simulated clients speak.
public enum BenchTransport: String, Equatable {
    /// WebSocket on `/ws`, masked client frames (RFC 6455 section 5.3).
    case ws
    /// Raw TCP, one JSON object per line.
    case raw
    /// WebSocket on `/ws` with the `tagarela.cbor` subprotocol: CBOR binary messages both ways
    /// (PROTOCOL.md 1.3). The bench writes its requests as JSON and transcodes them, and decodes
    /// what arrives back to JSON, so its own CPU is not comparable with `ws`; the server's is.
    case cbor

    /// Whether the connection is a WebSocket (`ws` or `cbor`).
    var isWebSocket: Bool { self != .raw }
}

/// What each connection of the `connect` scenario does once open.
public enum ConnectAuth: String, Equatable {
    /// Nothing: an idle (WebSocket or raw) connection.
    case none
    /// `register`, then `login` (authenticates the connection).
    case register
    /// `login` only (the users exist from an earlier run with the same `--run-id`).
    case login
}

/// A usage error: the message says which flag and why.
public struct BenchUsageError: Error, Equatable, CustomStringConvertible {
    /// What was wrong.
    public var description: String
}

/// Every setting of a bench run.
public struct BenchOptions: Equatable {
    /// `connect`, `chat`, `storm` (or `summarize`, which formats earlier JSON lines).
    public var scenario: String = ""
    /// Gateway port on 127.0.0.1 (the bench connects to loopback only).
    public var port: Int = 5000
    /// More gateways of the same cluster (`--also-port P`, repeatable): user i connects to
    /// `ports[i % ports.count]`, so every group spans the gateways (fan-out crosses the bus).
    public var alsoPorts: [Int] = []
    /// Every gateway port, `port` first.
    public var ports: [Int] { [port] + alsoPorts }
    /// The supervisor's run folder with `gateway.pid` and `worker-K.pid`, to sample RSS and CPU.
    public var pidsFrom: String? = nil
    /// More server processes to sample, by name (`--pid NAME=PID`, repeatable): a server that has
    /// no supervisor run folder, such as the SwiftNIO peer `Benchmarks/compare` runs.
    public var extraPids: [WatchedProcess] = []
    /// Transport of every client.
    public var transport: BenchTransport = .ws
    /// Event-loop threads in the bench (each owns whole groups of users); 0 = automatic: 2 for
    /// `connect` (the kernel's loopback handshake work runs in the connecting thread, so one
    /// thread caps the handshake rate), 1 for `chat` and `storm` (to leave the cores to the server).
    public var loops: Int = 0
    /// Prefix of the usernames (`b<run>_<i>`); unique per run by default.
    public var runID: String = ""
    /// Connections (handshakes) in flight at once while ramping up, per bench thread; also the
    /// number of register/login scripts in flight.
    public var batch: Int = 1000
    /// Hard cap on the whole run, in seconds: the run stops by itself after it.
    public var timeoutS: Double = 900
    /// No progress lines.
    public var quiet: Bool = false
    /// Loopback source addresses (127.0.0.1 ... 127.0.0.N) the connections are dealt over;
    /// 0 = automatic: one per 5,000 connections, to stay under the gateway's 10,000 per IP.
    public var sourceIPs: Int = 0
    /// Microseconds each bench loop rests after a turn before polling again, so that each read
    /// returns more messages (fewer read and epoll_wait calls per message; adds up to this much to
    /// measured latencies). 0 = poll as soon as the turn ends.
    public var coalesceUs: Int = 0
    /// Offer WebSocket permessage-deflate and compress what is sent (`--compression on`); off by
    /// default so earlier figures stay comparable.
    public var compression: Bool = false

    /// connect: number of connections.
    public var connections: Int = 1000
    /// connect: what each connection does once open.
    public var auth: ConnectAuth = .none
    /// connect: seconds to hold the connections open (RSS is read during the hold).
    public var holdS: Double = 3

    /// chat/storm: number of users (one connection each).
    public var users: Int = 1000
    /// chat/storm: users per group (each user is in exactly one group).
    public var group: Int = 10
    /// chat/storm: messages per second per user (open loop).
    public var rate: Double = 10
    /// chat/storm: when > 0, closed loop with this many unacknowledged messages per user instead of `rate`.
    public var window: Int = 0
    /// chat: measured seconds (after the warm-up); storm: seconds of chat before the storm.
    public var durationS: Double = 10
    /// Seconds of load before measuring starts (samples discarded).
    public var warmupS: Double = 2
    /// Seconds to wait after the last send for acknowledgements and deliveries.
    public var drainS: Double = 5
    /// Bytes of `content` per message (at least the `t=... ` prefix).
    public var contentBytes: Int = 64
    /// storm: seconds of chat after everyone is back.
    public var afterS: Double = 5
    /// Password of the bench users (PROTOCOL.md 2.1: 8 to 1024 bytes).
    public var password: String = "bench-password"

    /// sweep: raise `rate` step by step until p99 delivery latency passes `p99BoundMs`.
    public var sweep: Bool = false
    /// sweep: the latency bound in milliseconds.
    public var p99BoundMs: Double = 50
    /// sweep: each step multiplies the rate by this.
    public var sweepFactor: Double = 1.25
    /// sweep: the highest rate tried.
    public var sweepMaxRate: Double = 1000
    /// The machine is shared: a measured window during which processes other than the server and
    /// the bench used more than this share of a core (percent) is flagged, and a sweep step
    /// repeated (up to 3 times) rather than counted as a failure of the server.
    public var maxOtherCPU: Double = 25
    /// sweep: also stop when fewer than this fraction of the expected deliveries arrived.
    public var sweepMinDelivered: Double = 0.99

    /// Creates the defaults.
    public init() {}

    /// The usage text.
    public static let usage = """
    Usage: tagarela bench SCENARIO --port P [options]
      SCENARIO: connect | chat | storm | summarize (reads earlier JSON result lines on stdin)
                | journal (the store alone, no server: tagarela bench journal --help)
                | compaction (a large shard compacted while it serves, no server; Benchmarks/README.md)
    Common:   --port P  [--also-port P2 ...]  --pids-from RUNDIR  --pid NAME=PID (another server process; repeatable)
              --transport ws|raw|cbor  --loops N  --run-id ID
              --batch N (handshakes in flight while ramping)  --timeout S  --quiet
              --source-ips N (connect from 127.0.0.1..N; default one per 5000 connections)
              --max-other-cpu P (flag windows where other programs used more than P% of a core; default 25)
              --coalesce-us N (rest after each loop turn: fewer, larger reads; adds up to N µs of latency)
              --compression on|off (offer permessage-deflate, compress every message sent; default off)
    connect:  --connections C  --auth none|register|login  --hold S
    chat:     --users U  --group G  (--rate R | --window W)  --duration S  --warmup S  --drain S
              --content-bytes N  --password P
              --sweep [--p99-bound-ms 50] [--sweep-factor 1.25] [--sweep-max-rate R] [--sweep-min-delivered 0.99]
    storm:    the chat flags (--duration is the chat before the storm) and --after S
    Progress goes to stderr once a second; the table and a final JSON line go to stdout.
    """

    /// Parses `arguments` (everything after `bench`).
    public static func parse(_ arguments: [String]) throws -> BenchOptions {
        var o = BenchOptions()
        var args = arguments[...]
        guard let scenario = args.popFirst(), !scenario.hasPrefix("-") else {
            throw BenchUsageError(description: "missing SCENARIO (connect, chat, storm or summarize)")
        }
        guard ["connect", "chat", "storm", "summarize"].contains(scenario) else {
            throw BenchUsageError(description: "unknown scenario '\(scenario)' (connect, chat, storm or summarize)")
        }
        o.scenario = scenario
        func value(_ flag: String) throws -> String {
            guard let v = args.popFirst() else { throw BenchUsageError(description: "\(flag) needs a value") }
            return v
        }
        func int(_ flag: String, _ range: ClosedRange<Int>) throws -> Int {
            let text = try value(flag)
            guard let v = Int(text), range.contains(v) else {
                throw BenchUsageError(description: "\(flag) must be an integer in \(range.lowerBound)...\(range.upperBound), not '\(text)'")
            }
            return v
        }
        func double(_ flag: String, _ range: ClosedRange<Double>) throws -> Double {
            let text = try value(flag)
            guard let v = Double(text), range.contains(v) else {
                throw BenchUsageError(description: "\(flag) must be a number in \(range.lowerBound)...\(range.upperBound), not '\(text)'")
            }
            return v
        }
        while let flag = args.popFirst() {
            switch flag {
            case "--port": o.port = try int(flag, 1...65535)
            case "--pids-from": o.pidsFrom = try value(flag)
            case "--pid":
                let text = try value(flag)
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, parts[0] != "bench", parts[0] != "other",
                      let pid = Int32(parts[1]), pid > 0 else {
                    throw BenchUsageError(description: "--pid must be NAME=PID (NAME not bench or other), not '\(text)'")
                }
                o.extraPids.append(WatchedProcess(name: parts[0], pid: pid))
            case "--also-port": o.alsoPorts.append(try int(flag, 1...65535))
            case "--transport":
                let t = try value(flag)
                guard let v = BenchTransport(rawValue: t) else { throw BenchUsageError(description: "--transport must be ws, raw or cbor") }
                o.transport = v
            case "--loops": o.loops = try int(flag, 0...16)
            case "--run-id":
                let id = try value(flag)
                guard !id.isEmpty, id.count <= 12, id.utf8.allSatisfy({ isUsernameByte($0) }) else {
                    throw BenchUsageError(description: "--run-id must be 1-12 characters of a-z 0-9 _ . -")
                }
                o.runID = id
            case "--batch": o.batch = try int(flag, 1...20_000)
            case "--timeout": o.timeoutS = try double(flag, 1...86_400)
            case "--quiet": o.quiet = true
            case "--source-ips": o.sourceIPs = try int(flag, 0...250)
            case "--coalesce-us": o.coalesceUs = try int(flag, 0...100_000)
            case "--compression":
                let v = try value(flag)
                guard v == "on" || v == "off" else { throw BenchUsageError(description: "--compression must be on or off") }
                o.compression = v == "on"
            case "--connections": o.connections = try int(flag, 1...1_000_000)
            case "--auth":
                let a = try value(flag)
                guard let v = ConnectAuth(rawValue: a) else { throw BenchUsageError(description: "--auth must be none, register or login") }
                o.auth = v
            case "--hold": o.holdS = try double(flag, 0...3600)
            case "--users": o.users = try int(flag, 2...1_000_000)
            case "--group": o.group = try int(flag, 2...101)
            case "--rate": o.rate = try double(flag, 0.001...1_000_000)
            case "--window": o.window = try int(flag, 1...10_000)
            case "--duration": o.durationS = try double(flag, 0.1...86_400)
            case "--warmup": o.warmupS = try double(flag, 0...3600)
            case "--drain": o.drainS = try double(flag, 0...600)
            case "--content-bytes": o.contentBytes = try int(flag, 24...4000)
            case "--after": o.afterS = try double(flag, 0.1...3600)
            case "--password":
                let p = try value(flag)
                guard p.utf8.count >= 8 && p.utf8.count <= 1024 else { throw BenchUsageError(description: "--password must be 8 to 1024 bytes") }
                o.password = p
            case "--sweep": o.sweep = true
            case "--p99-bound-ms": o.p99BoundMs = try double(flag, 0.001...1_000_000)
            case "--sweep-factor": o.sweepFactor = try double(flag, 1.01...10)
            case "--sweep-max-rate": o.sweepMaxRate = try double(flag, 0.001...1_000_000)
            case "--max-other-cpu": o.maxOtherCPU = try double(flag, 0...10_000)
            case "--sweep-min-delivered": o.sweepMinDelivered = try double(flag, 0...1)
            case "-h", "--help": throw BenchUsageError(description: "help")
            default: throw BenchUsageError(description: "unknown option '\(flag)'")
            }
        }
        if o.loops == 0 { o.loops = o.scenario == "connect" ? 2 : 1 }
        if o.group > o.users { throw BenchUsageError(description: "--group (\(o.group)) must not exceed --users (\(o.users))") }
        if o.sweep && o.scenario != "chat" { throw BenchUsageError(description: "--sweep goes with the chat scenario") }
        if o.sweep && o.window > 0 { throw BenchUsageError(description: "--sweep raises --rate; it does not combine with --window") }
        return o
    }

    /// Bytes allowed in a username (PROTOCOL.md 2.1).
    static func isUsernameByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
            || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
    }

    /// The username of user `index` in this run: `b<run>_<index>` (3-32 characters).
    public func username(_ index: Int) -> String { "b\(runID)_\(index)" }

    /// The source addresses in use for `connections` connections.
    public func sourceAddressCount(connections: Int) -> Int {
        sourceIPs > 0 ? sourceIPs : max(1, (connections + 4999) / 5000)
    }

    /// Number of groups: users are dealt into groups of `group`; a short last group is dropped
    /// so that every group has exactly `group` members (the expected-delivery math relies on it).
    public var groupCount: Int { users / group }
}
