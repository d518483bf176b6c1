// StormScenario: chat, then every client drops and reconnects at once and catches up with after_seq; was anything missed?
import TagarelaJSON

/// `tagarela bench storm`: chat for `--duration`, drop every connection in the same instant
/// (no close handshake), reconnect them all (window `--batch`), `auth` with the saved token and
/// page through `get_messages` from each receiver's last contiguous `seq`; then chat again for
/// `--after` seconds, drain, and check that every receiver holds every `seq` of its chat.
enum StormScenario {
    static func run(_ options: BenchOptions) throws -> (BenchReport, Bool) {
        let users = options.groupCount * options.group
        let gen = try LoadGenerator(options: options, users: users, groupSize: options.group)
        gen.start()
        defer { gen.stop() }
        var r = BenchReport(scenario: "storm")
        r.add("transport", .string(options.transport.rawValue), label: "transport")
        r.add("users", .int(Int64(users)), label: "users", text: "\(users) in \(options.groupCount) groups of \(options.group)")
        r.add("group", .int(Int64(options.group)))
        if let failure = ChatScenario.setUp(gen, options, report: &r) {
            r.add("failure", .string(failure), label: "FAILED")
            return (r, false)
        }
        gen.onEveryShard { $0.counters.resetMessageCounters() }
        let start = LoadShard.nowUs()
        let measureStart = start + Int64(options.warmupS * 1e6)
        let beforeEnd = measureStart + Int64(options.durationS * 1e6)
        let rate = options.rate, window = options.window
        // Sending goes on until the storm itself stops it, in the same loop turn as the drop, so
        // that messages in flight (sent, not yet acknowledged or delivered) are part of the test.
        let noEnd = beforeEnd + 3_600_000_000
        gen.onEveryShard { $0.startSending(rate: rate, window: window, measureStartUs: measureStart, endUs: noEnd) }
        let chatFrom = gen.monitor.sample()
        _ = gen.hold("chat", seconds: Double(beforeEnd - start) / 1e6)

        let storm = gen.phase("storm", timeoutS: max(30, options.timeoutS / 4), begin: { $0.storm() }, done: { $0.pending == 0 })
        let s = storm.last.counters
        let beforeStorm = s

        let afterStart = LoadShard.nowUs()
        let afterEnd = afterStart + Int64(options.afterS * 1e6)
        gen.onEveryShard { $0.startSending(rate: rate, window: window, measureStartUs: measureStart, endUs: afterEnd) }
        _ = gen.hold("after", seconds: options.afterS)
        let g = options.group - 1
        // Only the messages of the after phase can be drained: responses and deliveries of those
        // sent before the drop died with the connections (catch-up fetched what was stored).
        let d0 = s.deliveries, a0 = s.acked
        let drained = gen.phase("drain", timeoutS: options.drainS, begin: { $0.stopSending() }, done: {
            $0.outstanding == 0 && $0.counters.deliveries - d0 >= ($0.counters.acked - a0) * g
        })
        var missing: Int64 = 0, gaps = 0, seqs: Int64 = 0
        for shard in gen.shards {
            if let v = shard.sync({ $0.verifyCompleteness() }) {
                missing += v.missing
                gaps += v.receiversWithGaps
                seqs += v.highestSeqTotal
            }
        }
        let c = drained.last.counters
        r.add("storm_clients", .int(Int64(users)), label: "clients dropped", text: "\(users) at once")
        r.add("reconnected", .int(Int64(s.reconnected)), label: "back (connected + auth)", text: "\(s.reconnected) of \(users)")
        r.add("caught_up", .int(Int64(s.caughtUp)), label: "caught up", text: "\(s.caughtUp) of \(users)")
        r.add("seconds_until_all_back", .double(ConnectScenario.round3(storm.seconds)), label: "time until all back",
              text: String(format: "%.3f s%@", storm.seconds, storm.completed ? "" : " (not all came back)"))
        r.add("caught_up_messages", .int(Int64(s.caughtUpMessages)), label: "messages fetched by catch-up",
              text: "\(s.caughtUpMessages) not seen live")
        r.add("messages_in_chats", .int(seqs), label: "messages in the chats", text: "\(seqs) (sum of the highest seq per group)")
        r.add("missed", .int(missing), label: "missed (receiver, seq) pairs",
              text: missing == 0 ? "0: every receiver holds every message" : "\(missing), \(gaps) receivers with gaps")
        r.add("receivers_with_gaps", .int(Int64(gaps)))
        r.add("sent_before_storm", .int(Int64(beforeStorm.sent)), label: "sent before / after the storm",
              text: "\(beforeStorm.sent) / \(c.sent - beforeStorm.sent)")
        r.add("sent", .int(Int64(c.sent)))
        r.add("acked", .int(Int64(c.acked)), label: "acknowledged", text: "\(c.acked) ok, \(c.ackErrors) errors")
        r.add("deliveries", .int(Int64(c.deliveries)), label: "live deliveries",
              text: "\(c.deliveries), duplicates \(c.duplicates), out of order \(c.outOfOrder)")
        r.add("duplicates", .int(Int64(c.duplicates)))
        r.add("out_of_order", .int(Int64(c.outOfOrder)))
        r.add("drained", .bool(drained.completed), label: "drained", text: drained.completed ? "yes" : "no")
        r.addLatency("delivery_latency", c.deliveryUs, label: "delivery latency")
        r.addErrors(c.errors)
        r.warnAboutOtherLoad(gen.monitor, from: chatFrom, to: gen.monitor.sample(), boundPercent: options.maxOtherCPU)
        return (r, storm.completed && missing == 0)
    }
}
