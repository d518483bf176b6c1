// BenchReport: the result of one run as a human table and as one JSON line for scripts.
import Foundation
import TagarelaJSON

/// An ordered set of result fields, each with a table label and a JSON value.
struct BenchReport {
    /// The scenario name (first JSON field).
    let scenario: String
    private(set) var rows: [(label: String, text: String)] = []
    private(set) var fields: [(String, JSON)] = []

    init(scenario: String) {
        self.scenario = scenario
        fields.append(("scenario", .string(scenario)))
    }

    /// Adds a JSON field and, when `label` is given, a table row.
    mutating func add(_ key: String, _ value: JSON, label: String? = nil, text: String? = nil) {
        fields.append((key, value))
        if let label { rows.append((label, text ?? value.string ?? value.description)) }
    }

    /// Adds a table row only.
    mutating func row(_ label: String, _ text: String) {
        rows.append((label, text))
    }

    /// Adds a latency summary in milliseconds: `{"p50_ms":..., "p90_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms", "count"}`.
    mutating func addLatency(_ key: String, _ h: LatencyHistogram, label: String) {
        func ms(_ us: Int64) -> JSON { .double((Double(us) / 1000 * 1000).rounded() / 1000) }
        let obj: [(String, JSON)] = [
            ("count", .int(Int64(h.totalCount))),
            ("p50_ms", ms(h.value(atPercentile: 50))), ("p90_ms", ms(h.value(atPercentile: 90))),
            ("p99_ms", ms(h.value(atPercentile: 99))), ("p999_ms", ms(h.value(atPercentile: 99.9))),
            ("max_ms", ms(h.maxValue)), ("mean_ms", .double((h.mean).rounded() / 1000)),
        ]
        let text = h.totalCount == 0 ? "-" :
            "p50 \(Format.ms(h.value(atPercentile: 50)))  p90 \(Format.ms(h.value(atPercentile: 90)))  "
            + "p99 \(Format.ms(h.value(atPercentile: 99)))  p99.9 \(Format.ms(h.value(atPercentile: 99.9)))  "
            + "max \(Format.ms(h.maxValue))  (n=\(h.totalCount))"
        add(key, .object(JSONObject(obj)), label: label, text: text)
    }

    /// Adds errors by code (JSON object; one table row).
    mutating func addErrors(_ errors: [String: Int]) {
        let sorted = errors.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        add("errors", .object(JSONObject(sorted.map { ($0.key, JSON.int(Int64($0.value))) })), label: "errors",
            text: sorted.isEmpty ? "none" : sorted.prefix(8).map { "\($0.key) x\($0.value)" }.joined(separator: ", "))
    }

    /// Adds CPU share per process over a window, and RSS at its end.
    mutating func addProcesses(_ monitor: ServerMonitor, from a: MonitorSample, to b: MonitorSample, key: String = "processes") {
        var list: [(String, JSON)] = []
        for (name, percent) in monitor.cpuPercent(from: a, to: b) {
            if name == "other" {
                list.append((name, .object(JSONObject([("cpu_percent", .double((percent * 10).rounded() / 10))]))))
                row("cpu other", String(format: "%.0f%% of a core (the rest of the machine: other programs, kernel threads)", percent))
                continue
            }
            let rss = b.byName[name]?.rssBytes ?? 0
            list.append((name, .object(JSONObject([("cpu_percent", .double((percent * 10).rounded() / 10)),
                                                     ("rss_bytes", .int(rss))]))))
            row("cpu \(name)", String(format: "%.0f%% of a core, RSS %@", percent, Format.bytes(Double(rss)) as NSString))
        }
        fields.append((key, .object(JSONObject(list))))
    }

    /// Adds a `warning` when other programs used more than `boundPercent` of a core between the
    /// samples: on a shared machine such a window says little about the server.
    mutating func warnAboutOtherLoad(_ monitor: ServerMonitor, from a: MonitorSample, to b: MonitorSample, boundPercent: Double) {
        let other = monitor.otherPercent(from: a, to: b)
        guard other > boundPercent else { return }
        add("warning", .string("other programs used \(Int(other))% of a core during the measurement"), label: "WARNING",
            text: "other programs used \(Int(other))% of a core during the measurement: the figures are not clean")
    }

    /// The table, then the JSON line (the last line of stdout, for scripts).
    func print(header: String) {
        var out = "\n== \(header)\n"
        let width = min(40, (rows.map { $0.label.count }.max() ?? 0))
        for (label, text) in rows {
            out += label.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + text + "\n"
        }
        out += String(decoding: JSON.object(JSONObject(fields)).encoded(), as: UTF8.self) + "\n"
        FileHandle.standardOutput.write(out.data(using: .utf8)!)
    }
}
