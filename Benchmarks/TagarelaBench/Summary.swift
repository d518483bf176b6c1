// Summary: `tagarela bench summarize`: a comparison table of earlier JSON result lines read from stdin.
import Foundation
import TagarelaJSON

/// Turns result lines (one JSON object per line, as the scenarios print last) into one table:
/// what `Benchmarks/run --workers 1,2,4` prints at the end.
enum Summary {
    static func run() -> Int32 { ResultLines.printTable(table) }

    /// The table for `results`; each may carry `workers` and `fsync` added by Benchmarks/run.
    static func table(_ results: [JSON]) -> String {
        var rows: [[String]] = [["scenario", "workers", "fsync", "result", "p99 delivery", "cpu/delivery", "cpu (% of a core)"]]
        for j in results {
            let scenario = j["scenario"]?.string ?? "?"
            var result = "-"
            switch scenario {
            case "connect":
                result = "\(num(j["handshakes_per_second"])) hs/s, \(num(j["connections_opened"])) open"
                if let gw = j["memory"]?["gateway"]?["rss_per_connection_bytes"] { result += ", gw \(num(gw)) B/conn" }
            case "storm":
                result = "back in \(num(j["seconds_until_all_back"])) s, missed \(num(j["missed"]))"
            case "sweep":
                result = "best \(num(j["best_rate_per_user"]))/s/user = \(num(j["best_deliveries_per_second"])) deliv/s"
            default:
                result = "\(num(j["deliveries_per_second"])) deliv/s"
            }
            let p99 = j["delivery_latency"]?["p99_ms"].map { "\(num($0)) ms" } ?? "-"
            let cpu = (j["processes"]?.object?.entries ?? []).map { "\(ServerMonitor.shortName($0.key)) \(num($0.value["cpu_percent"]))" }
                .joined(separator: " ")
            let perDelivery = j["server_cpu_us_per_delivery"].flatMap { $0.double }.map { String(format: "%.2f µs", $0) } ?? "-"
            rows.append([scenario, num(j["workers"]), j["fsync"]?.string ?? "-", result, p99, perDelivery, cpu.isEmpty ? "-" : cpu])
        }
        return ResultLines.aligned(rows)
    }

    static func num(_ j: JSON?) -> String {
        guard let j else { return "-" }
        if let i = j.int { return String(i) }
        if let d = j.double { return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(format: "%.2f", d) }
        if let s = j.string { return s }
        return "-"
    }
}
