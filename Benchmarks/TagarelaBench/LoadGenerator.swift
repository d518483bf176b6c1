// LoadGenerator: the driver thread's view of the bench: shards, phases with deadlines, progress lines.
import Dispatch
import Foundation
import TagarelaSystem

/// The merged state of every shard at one instant.
struct MergedSnapshot {
    var counters = RunCounters()
    var intervalDeliveryUs = LatencyHistogram()
    var intervalMaxSendLagUs: Int64 = 0
    var ready = 0
    var pending = 0
    /// Latest `phaseDoneUs` over the shards (0 while any shard is not done).
    var phaseDoneUs: Int64 = 0
    var outstanding = 0
}

/// How a phase ended.
struct PhaseOutcome {
    /// The phase's condition held before its deadline.
    var completed: Bool
    /// Monotonic µs when the phase started.
    var startUs: Int64
    /// Monotonic µs when it was seen complete (the shards' own completion time when known), or at the deadline.
    var endUs: Int64
    /// The state at the end.
    var last: MergedSnapshot
    /// Seconds from start to end.
    var seconds: Double { Double(endUs - startUs) / 1e6 }
}

/// Owns the shards (one event-loop thread each) and runs phases on them.
final class LoadGenerator {
    let options: BenchOptions
    let shards: [LoadShard]
    let monitor: ServerMonitor
    /// When the whole run must stop (the `--timeout` cap).
    let deadlineUs: Int64
    private let runStartUs: Int64
    private var lastProgressUs: Int64 = 0
    private var lastProgressCounters = RunCounters()
    private var lastProgressSample: MonitorSample

    /// Creates `users` clients dealt over `options.loops` shards: whole groups of `groupSize` per
    /// shard when `groupSize > 0` (so a group's bookkeeping never crosses threads), else round robin.
    init(options: BenchOptions, users: Int, groupSize: Int) throws {
        self.options = options
        var shards: [LoadShard] = []
        for k in 0..<options.loops {
            shards.append(try LoadShard(options: options, seed: UInt64(getpid()) &* 0x9E37_79B9 &+ UInt64(k + 1) &* 0x85EB_CA6B))
        }
        let sources = options.sourceAddressCount(connections: users)
        for i in 0..<users {
            let k = groupSize > 0 ? (i / groupSize) % shards.count : i % shards.count
            let shard = shards[k]
            shard.clients.append(BenchClient(index: i, username: options.username(i), owner: shard,
                                             transport: options.transport, port: options.ports[i % options.ports.count],
                                             sourceAddress: sources > 1 ? SourceAddress.address(forIndex: i, count: sources) : 0,
                                             compression: shard.compression))
        }
        if groupSize > 0 {
            for shard in shards { shard.formGroups(size: groupSize) }
        }
        self.shards = shards
        monitor = ServerMonitor(runDir: options.pidsFrom, extra: options.extraPids)
        runStartUs = LoadShard.nowUs()
        deadlineUs = runStartUs + Int64(options.timeoutS * 1e6)
        lastProgressUs = runStartUs
        lastProgressSample = monitor.sample()
    }

    /// Starts the loop threads.
    func start() {
        for (k, shard) in shards.enumerated() { shard.start(name: "bench-\(k)") }
    }

    /// Stops the loop threads (their connections close).
    func stop() {
        for shard in shards { shard.stop() }
    }

    /// Runs `body` on every shard's thread.
    func onEveryShard(_ body: @escaping (LoadShard) -> Void) {
        for shard in shards { _ = shard.sync { body($0) } }
    }

    /// The merged state of every shard.
    func snapshot(resetInterval: Bool = false) -> MergedSnapshot {
        var m = MergedSnapshot()
        var allDone = true
        for shard in shards {
            guard let s = shard.sync(timeoutS: 10, { $0.snapshot(resetInterval: resetInterval) }) else {
                // A shard too busy to answer within 10 s is certainly not done.
                allDone = false
                m.pending += 1
                continue
            }
            m.counters.merge(s.counters)
            m.intervalDeliveryUs.merge(s.intervalDeliveryUs)
            m.intervalMaxSendLagUs = max(m.intervalMaxSendLagUs, s.intervalMaxSendLagUs)
            m.ready += s.ready
            m.pending += s.pending
            m.outstanding += s.outstanding
            if s.phaseDoneUs == 0 { allDone = false } else { m.phaseDoneUs = max(m.phaseDoneUs, s.phaseDoneUs) }
        }
        if !allDone { m.phaseDoneUs = 0 }
        return m
    }

    /// Starts a phase on every shard with `begin`, then polls every 50 ms until `done` holds,
    /// `timeoutS` passes or the run's deadline comes, printing a progress line every second.
    func phase(_ name: String, timeoutS: Double, begin: @escaping (LoadShard) -> Void,
               done: (MergedSnapshot) -> Bool) -> PhaseOutcome {
        let startUs = LoadShard.nowUs()
        onEveryShard(begin)
        let endBy = min(deadlineUs, startUs + Int64(timeoutS * 1e6))
        while true {
            let now = LoadShard.nowUs()
            if now - lastProgressUs >= 1_000_000 { progress(name) }
            let m = snapshot()
            if done(m) {
                let end = m.phaseDoneUs > 0 ? max(startUs, m.phaseDoneUs) : LoadShard.nowUs()
                return PhaseOutcome(completed: true, startUs: startUs, endUs: end, last: m)
            }
            if now >= endBy { return PhaseOutcome(completed: false, startUs: startUs, endUs: now, last: m) }
            usleep(50_000)
        }
    }

    /// Waits `seconds` (bounded by the run's deadline) with progress lines.
    func hold(_ name: String, seconds: Double) -> PhaseOutcome {
        phase(name, timeoutS: seconds, begin: { _ in }, done: { _ in false })
    }

    /// Whether the run's `--timeout` has passed.
    var pastDeadline: Bool { LoadShard.nowUs() >= deadlineUs }

    /// One line on stderr: rates over the last second, interval p99, errors, CPU by process.
    func progress(_ name: String) {
        let now = LoadShard.nowUs()
        let m = snapshot(resetInterval: true)
        let sample = monitor.sample()
        let dt = Double(max(1, now - lastProgressUs)) / 1e6
        let c = m.counters, p = lastProgressCounters
        func rate(_ a: Int, _ b: Int) -> String { Format.count(Double(max(0, a - b)) / dt) }
        let elapsed = Double(now - runStartUs) / 1e6
        let errors = c.errors.values.reduce(0, +)
        var line = String(format: "[%6.1fs] %-8@", elapsed, name as NSString)
        line += " conns \(m.ready)"
        if m.pending > 0 { line += " pending \(m.pending)" }
        if c.connected != p.connected { line += " hs/s \(rate(c.connected, p.connected))" }
        if c.sent > 0 || c.deliveries > 0 {
            line += " sent/s \(rate(c.sent, p.sent)) ack/s \(rate(c.acked, p.acked)) deliv/s \(rate(c.deliveries, p.deliveries))"
            line += " p99 \(Format.ms(m.intervalDeliveryUs.value(atPercentile: 99)))"
            if m.intervalMaxSendLagUs > 0 { line += " lag \(Format.ms(m.intervalMaxSendLagUs))" }
        }
        if errors > 0 { line += " errors \(errors)" }
        line += "  cpu " + monitor.cpuSummary(from: lastProgressSample, to: sample)
        if !options.quiet { FileHandle.standardError.write((line + "\n").data(using: .utf8)!) }
        lastProgressUs = now
        lastProgressCounters = c
        lastProgressSample = sample
    }
}
