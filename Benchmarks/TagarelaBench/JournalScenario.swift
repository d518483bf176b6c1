// JournalScenario: `tagarela bench journal`, journal appends per second under each fsync policy.
import Foundation
import TagarelaStore

/// Compares the three ways a record can reach the journal: `always` with group commit (many
/// records share one write and one fdatasync, as the worker does per event-loop turn), `always`
/// with one fdatasync per record (what a naive store does), and `never` (the page cache only).
public enum JournalScenario {
    public struct Row {
        public let name: String
        public let recordsPerSecond: Double
        public let commitsPerSecond: Double
    }

    /// Runs the three cases in `directory` (a real disk, not tmpfs, for fsync to mean anything).
    public static func run(directory: String, records: Int, recordBytes: Int, groupSize: Int) throws -> [Row] {
        let cases: [(String, FsyncPolicy, Int, Int)] = [
            ("always, group commit of \(groupSize)", .always, groupSize, records),
            // One sync per record is two orders of magnitude slower: fewer records keep it short.
            ("always, one fdatasync per record", .always, 1, max(1, records / 20)),
            ("never, group commit of \(groupSize)", .never, groupSize, records),
        ]
        return try cases.map { name, policy, perCommit, count in
            let r = try JournalBenchmark.run(directory: directory, records: count, recordBytes: recordBytes,
                                             recordsPerCommit: perCommit, policy: policy)
            return Row(name: name, recordsPerSecond: r.recordsPerSecond, commitsPerSecond: r.commitsPerSecond)
        }
    }

    /// `tagarela bench journal [--dir DIR] [--records N] [--record-bytes B] [--group G]`.
    public static func main(_ arguments: [String]) -> Int32 {
        var dir = FileManager.default.currentDirectoryPath
        var records = 200_000, recordBytes = 300, group = 256
        let usage = "usage: tagarela bench journal [--dir DIR] [--records N] [--record-bytes N] [--group N]"
        var i = 0
        // Every flag takes a value; a lone flag (`--help` included) prints the usage, and so does
        // a value that is not a positive number, instead of running with a default.
        while i < arguments.count {
            let flag = arguments[i]
            guard i + 1 < arguments.count else {
                print(flag == "--help" || flag == "-h" ? usage : "\(flag) needs a value\n\(usage)")
                return flag == "--help" || flag == "-h" ? 0 : 2
            }
            let value = arguments[i + 1]
            func count() -> Int? { Int(value).flatMap { $0 > 0 ? $0 : nil } }
            switch flag {
            case "--dir": dir = value
            case "--records": guard let n = count() else { print(usage); return 2 }; records = n
            case "--record-bytes": guard let n = count() else { print(usage); return 2 }; recordBytes = n
            case "--group": guard let n = count() else { print(usage); return 2 }; group = n
            default:
                print("unknown option \(flag)\n\(usage)")
                return 2
            }
            i += 2
        }
        do {
            let rows = try run(directory: dir, records: records, recordBytes: recordBytes, groupSize: group)
            print("journal appends, \(recordBytes)-byte records, in \(dir)")
            print("case                                   records/s    fdatasync/s")
            for row in rows {
                let name = row.name.padding(toLength: 38, withPad: " ", startingAt: 0)
                print("\(name) \(String(format: "%10.0f", row.recordsPerSecond))   \(String(format: "%10.0f", row.commitsPerSecond))")
            }
            let json = rows.map {
                "{\"case\":\"\($0.name)\",\"records_per_s\":\(Int($0.recordsPerSecond)),\"commits_per_s\":\(Int($0.commitsPerSecond))}"
            }.joined(separator: ",")
            print("{\"scenario\":\"journal\",\"record_bytes\":\(recordBytes),\"results\":[\(json)]}")
            return 0
        } catch {
            print("journal benchmark failed: \(error)")
            return 1
        }
    }
}
