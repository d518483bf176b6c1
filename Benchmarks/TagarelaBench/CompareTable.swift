// CompareTable: `tagarela bench compare-table`: the side-by-side table Benchmarks/compare prints, from chat result lines tagged with a server and a load.
import Foundation
import TagarelaJSON

/// Reads chat result lines (one JSON object per line) that `Benchmarks/compare` tagged with
/// `"server"` (previous, current, nio, or a hold bound) and `"load"` (`5/s`, `closed`...), and
/// prints one table: for each load, one row per run, with deliveries per second, median and p99
/// delivery latency, server CPU per delivery, that CPU relative to the load's first server, and
/// server write system calls per delivery.
enum CompareTable {
    static func run() -> Int32 { ResultLines.printTable(table) }

    /// The table for `results`, loads in the order they first appear, runs in input order.
    static func table(_ results: [JSON]) -> String {
        var loads: [String] = []
        for j in results {
            let load = j["load"]?.string ?? "-"
            if !loads.contains(load) { loads.append(load) }
        }
        var rows: [[String]] = [["load", "server", "deliveries/s", "p50 delivery", "p99 delivery", "cpu/delivery", "cpu vs first",
                                 "writes/delivery", "notes"]]
        for load in loads {
            let runs = results.filter { ($0["load"]?.string ?? "-") == load }
            let baseline = runs.first?["server_cpu_us_per_delivery"]?.double
            for j in runs {
                let cpu = j["server_cpu_us_per_delivery"]?.double
                let ratio: String
                if let cpu, let baseline, baseline > 0 { ratio = String(format: "%+.0f%%", (cpu / baseline - 1) * 100) } else { ratio = "-" }
                rows.append([load, j["server"]?.string ?? "-", Summary.num(j["deliveries_per_second"]),
                             ms(j["delivery_latency"]?["p50_ms"]), ms(j["delivery_latency"]?["p99_ms"]),
                             cpu.map { String(format: "%.2f µs", $0) } ?? "-", ratio,
                             j["server_write_calls_per_delivery"]?.double.map { String(format: "%.3f", $0) } ?? "-", notes(j)])
            }
        }
        return ResultLines.aligned(rows)
    }

    private static func ms(_ j: JSON?) -> String {
        guard let v = j?.double else { return "-" }
        return String(format: "%.2f ms", v)
    }

    /// What makes a row suspect: deliveries short of expected, errors, not drained, a busy machine.
    private static func notes(_ j: JSON) -> String {
        var out: [String] = []
        if let failure = j["failure"]?.string { out.append("FAILED: " + failure) }
        if let got = j["deliveries"]?.double, let expected = j["deliveries_expected_from_acked"]?.double, expected > 0, got < expected {
            out.append(String(format: "delivered %.1f%%", got / expected * 100))
        }
        if let errors = j["ack_errors"]?.double, errors > 0 { out.append("\(Int(errors)) errors") }
        if j["drained"]?.bool == false { out.append("not drained") }
        if let other = j["processes"]?["other"]?["cpu_percent"]?.double, other > 25 { out.append("other \(Int(other))%") }
        return out.isEmpty ? "" : out.joined(separator: ", ")
    }
}
