// LatencyMetricsRenderer: the Prometheus text of the gateway's histograms and of every worker's stats (labelled by shard).
import TagarelaLink
import TagarelaModel

/// Renders histograms as Prometheus classic histograms (`_bucket{le}` cumulative, `_sum`,
/// `_count`, text format 0.0.4) and the workers' stats with a `shard` label, after the
/// counters `MetricsRenderer` writes, so one scrape of the gateway sees the whole instance.
enum LatencyMetricsRenderer {
    /// Nanoseconds per second: durations are observed in ns and exposed in seconds (Prometheus'
    /// base unit).
    static let nsPerSecond = 1e9

    /// The text for the merged loop histograms and the workers' stats (`stats[k]` nil when
    /// worker k did not answer: its `tagarela_shard_up` is 0 and its other series are absent).
    static func render(_ h: LoopHistograms, stats: [WorkerStats?]) -> String {
        var out = ""
        out.reserveCapacity(32 * 1024)
        header(&out, "tagarela_request_duration_seconds", "histogram",
               "Client requests from their last byte read to their answer queued, by type (worker round trips included).")
        for type in RequestType.clientTypes {
            histogram(&out, "tagarela_request_duration_seconds", "type=\"\(type.rawValue)\"", h.requestNs[type.index],
                      scale: nsPerSecond)
        }
        header(&out, "tagarela_delivery_queueing_seconds", "histogram",
               "Event copies from their link frame's arrival at the gateway to the write that emptied the receiver's output queue.")
        histogram(&out, "tagarela_delivery_queueing_seconds", "", h.deliveryNs, scale: nsPerSecond)
        renderWorkers(&out, stats)
        return out
    }

    /// The workers' gauges, counters and histograms, each family once with a series per shard.
    private static func renderWorkers(_ out: inout String, _ stats: [WorkerStats?]) {
        typealias N = WorkerStats.Name
        header(&out, "tagarela_shard_up", "gauge", "1 when the shard's worker answered this scrape's stats request.")
        for (k, s) in stats.enumerated() { out += "tagarela_shard_up{shard=\"\(k)\"} \(s == nil ? 0 : 1)\n" }
        let values: [(String, String, String)] = [
            (N.users, "gauge", "Registered users whose home is the shard."),
            (N.chats, "gauge", "Chats stored in the shard."),
            (N.messages, "gauge", "Messages stored in the shard (its rate is the shard's message rate)."),
            (N.sessions, "gauge", "Login sessions stored in the shard."),
            (N.journalBytes, "gauge", "Journal bytes a restart would replay beyond the last snapshot."),
            (N.compactions, "counter", "Compactions finished by the worker since it started."),
            (N.starts, "counter", "Times a worker has started on the shard's folder (a rise without a deploy is a restart after a crash, kill or hang)."),
            (N.commits, "counter", "Group commits (one journal write, one fdatasync under fsync always) since the worker started."),
        ]
        for (name, type, help) in values {
            header(&out, "tagarela_" + name, type, help)
            for (k, s) in stats.enumerated() {
                guard let v = s?.value(name) else { continue }
                out += "tagarela_\(name){shard=\"\(k)\"} \(v)\n"
            }
        }
        let histograms: [(String, Double, String)] = [
            (N.commitSeconds, nsPerSecond, "Group commit duration: the turn's journal write and, under fsync always, its fdatasync."),
            (N.fdatasyncSeconds, nsPerSecond, "fdatasync duration of the journal (group commits under always, the 1 s timer under interval)."),
            (N.commitRecords, 1, "Journal records per group commit."),
            (N.compactionSeconds, nsPerSecond, "Compaction duration, from the switch of journals to the old journal's deletion."),
        ]
        for (name, scale, help) in histograms {
            header(&out, "tagarela_" + name, "histogram", help)
            for (k, s) in stats.enumerated() {
                guard let h = s?.histogram(name) else { continue }
                histogram(&out, "tagarela_" + name, "shard=\"\(k)\"", h, scale: scale)
            }
        }
    }

    private static func header(_ out: inout String, _ name: String, _ type: String, _ help: String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    /// One series: cumulative buckets, then `_sum` and `_count`.
    static func histogram(_ out: inout String, _ name: String, _ labels: String, _ h: Histogram, scale: Double) {
        let prefix = labels.isEmpty ? "" : labels + ","
        var cumulative: UInt64 = 0
        for (i, bound) in h.bounds.enumerated() {
            cumulative &+= h.counts[i]
            out += "\(name)_bucket{\(prefix)le=\"\(number(Double(bound) / scale))\"} \(cumulative)\n"
        }
        cumulative &+= h.counts[h.bounds.count]
        out += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(cumulative)\n"
        let tail = labels.isEmpty ? "" : "{\(labels)}"
        out += "\(name)_sum\(tail) \(number(Double(h.sum) / scale))\n"
        out += "\(name)_count\(tail) \(cumulative)\n"
    }

    /// A float as Prometheus reads it: integers without a fraction, others in Swift's shortest
    /// round-trip form (`5e-05`, `0.25`), which Go's ParseFloat accepts.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
