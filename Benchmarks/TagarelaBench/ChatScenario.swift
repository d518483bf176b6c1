// ChatScenario: users in groups sending at a rate (or with a window), measured for delivery and ack latency; plus the sweep.
import Foundation
import TagarelaJSON

/// One measured window of chat traffic.
struct ChatWindow {
    /// Messages per second per user (0 in closed loop).
    var rate: Double
    /// Counters of messages stamped inside the window (responses and deliveries counted through the drain).
    var counters: RunCounters
    /// Measured seconds.
    var seconds: Double
    /// Whether every response and delivery arrived within the drain time.
    var drained: Bool
    /// Process samples at the start and end of the window.
    var from: MonitorSample
    var to: MonitorSample
    /// Deliveries expected from what was sent: sent x (G - 1).
    var expectedFromSent: Int
    /// Deliveries expected from what was acknowledged: acked x (G - 1).
    var expectedFromAcked: Int

    var deliveriesPerSecond: Double { Double(counters.deliveries) / max(seconds, 1e-6) }
    var deliveredRatio: Double { expectedFromAcked == 0 ? 1 : Double(counters.deliveries) / Double(expectedFromAcked) }
    var p99DeliveryMs: Double { Double(counters.deliveryUs.value(atPercentile: 99)) / 1000 }
}

extension BenchReport {
    /// Server CPU per delivery over a window: every server process's CPU time (the gateway and
    /// all workers, or `--pid` processes) from the window's first to its last sample, divided by
    /// the deliveries of messages sent in it. JSON `server_cpu_us_per_delivery` (null when no
    /// server process is watched), `server_cpu_percent` (all of them, in % of one core) and
    /// `server_write_calls_per_delivery` (their write system calls over the same window).
    mutating func addServerCPU(_ w: ChatWindow, monitor: ServerMonitor) {
        let perDelivery = monitor.serverCPUUsPerDelivery(from: w.from, to: w.to, deliveries: w.counters.deliveries)
        let totalUs = monitor.serverCPUUs(from: w.from, to: w.to)
        let percent = totalUs.map { Double($0) / max(1, Double(w.to.atUs - w.from.atUs)) * 100 }
        add("server_cpu_us_per_delivery", perDelivery.map { .double(($0 * 1000).rounded() / 1000) } ?? .null,
            label: "server cpu per delivery",
            text: perDelivery.map { String(format: "%.2f µs (all server processes: %.0f%% of a core)", $0, percent ?? 0) }
                ?? "- (no server process watched: --pids-from or --pid)")
        add("server_cpu_percent", percent.map { .double(($0 * 10).rounded() / 10) } ?? .null)
        let writes = w.counters.deliveries > 0 ? monitor.serverWriteCalls(from: w.from, to: w.to).map {
            Double($0) / Double(w.counters.deliveries)
        } : nil
        add("server_write_calls_per_delivery", writes.map { .double(($0 * 1000).rounded() / 1000) } ?? .null,
            label: "server writes per delivery",
            text: writes.map { String(format: "%.3f write system calls (all server processes, /proc/PID/io syscw)", $0) } ?? "-")
    }
}

extension ServerMonitor {
    /// Percent of a core used by other programs between two samples (0 when unknown).
    func otherPercent(from a: MonitorSample, to b: MonitorSample) -> Double {
        cpuPercent(from: a, to: b).first { $0.name == "other" }?.percent ?? 0
    }
}

/// `tagarela bench chat`: see Benchmarks/README.md.
enum ChatScenario {
    /// Connects, registers/logs in and creates the groups. Returns nil (with the reason) when setup failed.
    static func setUp(_ gen: LoadGenerator, _ options: BenchOptions, report: inout BenchReport) -> String? {
        let users = options.groupCount * options.group
        let connected = gen.phase("connect", timeoutS: options.timeoutS, begin: { $0.connect() }, done: { $0.pending == 0 })
        report.add("connect_seconds", .double(ConnectScenario.round3(connected.seconds)), label: "connect",
                   text: String(format: "%d of %d in %.2f s", connected.last.counters.connected, users, connected.seconds))
        guard connected.last.ready == users else { return "only \(connected.last.ready) of \(users) connections opened" }
        let authed = gen.phase("register", timeoutS: options.timeoutS, begin: { $0.authenticate(mode: .register) },
                               done: { $0.pending == 0 })
        report.add("register_seconds", .double(ConnectScenario.round3(authed.seconds)), label: "register + login",
                   text: String(format: "%d logged in (%d new) in %.2f s", authed.last.counters.authenticated,
                                authed.last.counters.registered, authed.seconds))
        guard authed.last.counters.authenticated == users else {
            return "only \(authed.last.counters.authenticated) of \(users) users logged in"
        }
        let grouped = gen.phase("groups", timeoutS: options.timeoutS, begin: { $0.createGroups() }, done: { $0.pending == 0 })
        report.add("groups_created", .int(Int64(grouped.last.counters.groupsCreated)), label: "groups",
                   text: "\(grouped.last.counters.groupsCreated) of \(options.groupCount) created in \(String(format: "%.2f", grouped.seconds)) s")
        guard grouped.last.counters.groupsCreated == options.groupCount else {
            return "only \(grouped.last.counters.groupsCreated) of \(options.groupCount) groups created"
        }
        return nil
    }

    /// Sends for warm-up plus `seconds`, counting only messages stamped after the warm-up, then
    /// drains. `name` labels the progress lines.
    static func measure(_ gen: LoadGenerator, _ options: BenchOptions, rate: Double, seconds: Double, name: String) -> ChatWindow {
        gen.onEveryShard { $0.counters.resetMessageCounters() }
        let start = LoadShard.nowUs()
        let measureStart = start + Int64(options.warmupS * 1e6)
        let end = measureStart + Int64(seconds * 1e6)
        gen.onEveryShard { $0.startSending(rate: rate, window: options.window, measureStartUs: measureStart, endUs: end) }
        if options.warmupS > 0 { _ = gen.hold("warmup", seconds: options.warmupS) }
        let from = gen.monitor.sample()
        _ = gen.hold(name, seconds: Double(end - LoadShard.nowUs()) / 1e6)
        let to = gen.monitor.sample()
        let g = options.group - 1
        let drained = gen.phase("drain", timeoutS: options.drainS, begin: { $0.stopSending() }, done: {
            $0.outstanding == 0 && $0.counters.deliveries >= $0.counters.acked * g
        })
        let c = drained.last.counters
        let measured = Double(to.atUs - from.atUs) / 1e6
        return ChatWindow(rate: rate, counters: c, seconds: options.warmupS > 0 ? measured : seconds, drained: drained.completed,
                          from: from, to: to, expectedFromSent: c.sent * g, expectedFromAcked: c.acked * g)
    }

    /// Adds a window's figures to the report.
    static func describe(_ w: ChatWindow, _ options: BenchOptions, monitor: ServerMonitor, into r: inout BenchReport) {
        let c = w.counters
        if options.window > 0 {
            r.add("window", .int(Int64(options.window)), label: "mode", text: "closed loop, window \(options.window) per user")
        } else {
            r.add("rate_per_user", .double(w.rate), label: "mode",
                  text: "open loop, \(Format.count(w.rate)) msg/s per user (\(Format.count(w.rate * Double(options.groupCount * options.group))) msg/s offered)")
        }
        r.add("measured_seconds", .double(ConnectScenario.round3(w.seconds)), label: "measured",
              text: String(format: "%.2f s after %.1f s warm-up", w.seconds, options.warmupS))
        r.add("sent", .int(Int64(c.sent)), label: "messages sent",
              text: "\(c.sent) (\(Format.count(Double(c.sent) / w.seconds))/s)" + (c.sendsSkipped > 0 ? ", \(c.sendsSkipped) skipped (bench backlog)" : ""))
        r.add("sends_skipped", .int(Int64(c.sendsSkipped)))
        r.add("acked", .int(Int64(c.acked)), label: "acknowledged",
              text: "\(c.acked) ok, \(c.ackErrors) errors")
        r.add("ack_errors", .int(Int64(c.ackErrors)))
        r.add("deliveries", .int(Int64(c.deliveries)), label: "deliveries",
              text: "\(c.deliveries) of \(w.expectedFromSent) expected from sent x (G-1) (\(Format.percent(Double(c.deliveries) / Double(max(1, w.expectedFromSent)))); "
                + "\(w.expectedFromAcked) expected from acked)")
        r.add("deliveries_expected", .int(Int64(w.expectedFromSent)))
        r.add("deliveries_expected_from_acked", .int(Int64(w.expectedFromAcked)))
        r.add("deliveries_per_second", .double(w.deliveriesPerSecond.rounded()), label: "deliveries/s",
              text: Format.count(w.deliveriesPerSecond))
        r.addServerCPU(w, monitor: monitor)
        r.add("duplicates", .int(Int64(c.duplicates)), label: "duplicates / out of order",
              text: "\(c.duplicates) / \(c.outOfOrder)")
        r.add("out_of_order", .int(Int64(c.outOfOrder)))
        r.add("drained", .bool(w.drained), label: "drained", text: w.drained ? "yes" : "no (responses or deliveries still missing after \(options.drainS) s)")
        r.addLatency("ack_latency", c.ackUs, label: "ack latency")
        r.addLatency("delivery_latency", c.deliveryUs, label: "delivery latency")
        if options.window == 0 { r.addLatency("send_lag", c.sendLagUs, label: "bench send lag") }
        r.addErrors(c.errors)
        r.addProcesses(monitor, from: w.from, to: w.to)
        r.warnAboutOtherLoad(monitor, from: w.from, to: w.to, boundPercent: options.maxOtherCPU)
        r.add("bytes_in", .int(c.bytesIn))
        r.add("wire_bytes_in", .int(c.wireBytesIn))
        if c.deliveries > 0 { r.add("wire_bytes_per_delivery", .double((Double(c.wireBytesIn) / Double(c.deliveries) * 10).rounded() / 10)) }
        r.add("bytes_out", .int(c.bytesOut))
    }

    static func run(_ options: BenchOptions) throws -> (BenchReport, Bool) {
        let users = options.groupCount * options.group
        let gen = try LoadGenerator(options: options, users: users, groupSize: options.group)
        gen.start()
        defer { gen.stop() }
        var r = BenchReport(scenario: options.sweep ? "sweep" : "chat")
        r.add("transport", .string(options.transport.rawValue), label: "transport")
        r.add("users", .int(Int64(users)), label: "users", text: "\(users) in \(options.groupCount) groups of \(options.group)")
        r.add("group", .int(Int64(options.group)))
        r.add("content_bytes", .int(Int64(options.contentBytes)))
        if let failure = setUp(gen, options, report: &r) {
            r.add("failure", .string(failure), label: "FAILED")
            return (r, false)
        }
        if options.sweep { return sweep(gen, options, report: r) }
        let w = measure(gen, options, rate: options.rate, seconds: options.durationS, name: "chat")
        describe(w, options, monitor: gen.monitor, into: &r)
        return (r, w.drained)
    }

    /// Raises the rate by `sweepFactor` per step until p99 delivery latency passes the bound (or
    /// deliveries fall short, or the maximum rate is reached); reports the highest rate that held.
    static func sweep(_ gen: LoadGenerator, _ options: BenchOptions, report: BenchReport) -> (BenchReport, Bool) {
        var r = report
        var rate = options.rate
        var best: ChatWindow? = nil
        var steps: [JSON] = []
        var stopReason = "reached --sweep-max-rate"
        var step = 0
        while rate <= options.sweepMaxRate && step < 64 && !gen.pastDeadline {
            step += 1
            var w = measure(gen, options, rate: rate, seconds: options.durationS, name: "sweep")
            var tries = 1
            // A shared machine: repeat a step that other programs disturbed, rather than blame the server.
            while gen.monitor.otherPercent(from: w.from, to: w.to) > options.maxOtherCPU && tries < 3 && !gen.pastDeadline {
                r.row(String(format: "step %2d  %@/s per user", step, Format.count(rate) as NSString),
                      "repeated: other programs used \(Int(gen.monitor.otherPercent(from: w.from, to: w.to)))% of a core")
                w = measure(gen, options, rate: rate, seconds: options.durationS, name: "sweep")
                tries += 1
            }
            var held = w.p99DeliveryMs <= options.p99BoundMs && w.deliveredRatio >= options.sweepMinDelivered
                && w.counters.ackErrors == 0 && w.drained
            if !held && w.p99DeliveryMs > options.p99BoundMs && w.counters.ackErrors == 0 && !gen.pastDeadline {
                // Near the knee a p99 is at the mercy of one scheduling hiccup: confirm before stopping.
                r.row(String(format: "step %2d  %@/s per user", step, Format.count(rate) as NSString),
                      "p99 \(String(format: "%.2f", w.p99DeliveryMs)) ms: measured again to confirm")
                w = measure(gen, options, rate: rate, seconds: options.durationS, name: "sweep")
                held = w.p99DeliveryMs <= options.p99BoundMs && w.deliveredRatio >= options.sweepMinDelivered
                    && w.counters.ackErrors == 0 && w.drained
            }
            let cpu = gen.monitor.cpuPercent(from: w.from, to: w.to)
            let perDelivery = gen.monitor.serverCPUUsPerDelivery(from: w.from, to: w.to, deliveries: w.counters.deliveries)
            steps.append(.object(JSONObject([
                ("rate_per_user", .double(rate)), ("deliveries_per_second", .double(w.deliveriesPerSecond.rounded())),
                ("p99_delivery_ms", .double(ConnectScenario.round3(w.p99DeliveryMs))),
                ("delivered_ratio", .double(ConnectScenario.round3(w.deliveredRatio))),
                ("ack_errors", .int(Int64(w.counters.ackErrors))), ("held", .bool(held)),
                ("cpu_percent", .object(JSONObject(cpu.map { ($0.name, JSON.double(($0.percent * 10).rounded() / 10)) }))),
                ("server_cpu_us_per_delivery", perDelivery.map { .double(($0 * 1000).rounded() / 1000) } ?? .null),
                ("p50_delivery_ms", .double(Double(w.counters.deliveryUs.value(atPercentile: 50)) / 1000)),
            ])))
            r.row(String(format: "step %2d  %@/s per user", step, Format.count(rate) as NSString),
                  "\(Format.count(w.deliveriesPerSecond)) deliveries/s, p99 \(String(format: "%.2f", w.p99DeliveryMs)) ms, "
                  + (perDelivery.map { String(format: "%.2f µs server cpu/delivery, ", $0) } ?? "")
                  + "delivered \(Format.percent(w.deliveredRatio)), errors \(w.counters.ackErrors)  "
                  + (held ? "held" : "FAILED") + "  cpu " + cpu.map { "\(ServerMonitor.shortName($0.name)) \(Int($0.percent.rounded()))%" }.joined(separator: " "))
            if !held {
                stopReason = w.p99DeliveryMs > options.p99BoundMs ? "p99 delivery latency passed \(options.p99BoundMs) ms"
                    : (w.counters.ackErrors > 0 ? "errors (\(w.counters.errors.keys.sorted().joined(separator: ", ")))"
                       : "deliveries short of expected or not drained")
                break
            }
            best = w
            rate *= options.sweepFactor
        }
        r.add("sweep_steps", .array(steps))
        r.add("p99_bound_ms", .double(options.p99BoundMs))
        r.add("stop_reason", .string(stopReason), label: "sweep stopped", text: stopReason)
        if let best {
            r.add("best_rate_per_user", .double(best.rate), label: "highest rate that held",
                  text: "\(Format.count(best.rate)) msg/s per user: \(Format.count(best.deliveriesPerSecond)) deliveries/s, p99 \(String(format: "%.2f", best.p99DeliveryMs)) ms")
            r.add("best_deliveries_per_second", .double(best.deliveriesPerSecond.rounded()))
            r.addServerCPU(best, monitor: gen.monitor)
            r.add("delivery_latency", .object(JSONObject([("p99_ms", .double(ConnectScenario.round3(best.p99DeliveryMs)))])))
            r.add("processes", .object(JSONObject(gen.monitor.cpuPercent(from: best.from, to: best.to).map {
                ($0.name, JSON.object(JSONObject([("cpu_percent", .double(($0.percent * 10).rounded() / 10))])))
            })))
        } else {
            r.add("best_rate_per_user", .null, label: "highest rate that held", text: "none (the first step already failed)")
        }
        return (r, best != nil)
    }
}
