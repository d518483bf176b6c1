// Bench: the entry point of `tagarela bench SCENARIO ...`.
import Foundation
import TagarelaSystem

/// The load generator. `tagarela bench` hands its arguments here.
public enum Bench {
    /// Runs one scenario (`connect`, `chat`, `storm`, `journal`, `compaction`) or `summarize`, with `arguments` being
    /// everything after `bench`. Prints progress on stderr, then a table and one JSON line on stdout.
    /// Returns the process exit status: 0 when the run completed cleanly, 1 when it completed with
    /// trouble (failed connections, missed messages, not drained), 2 on a usage error.
    public static func main(_ arguments: [String]) -> Int32 {
        // The journal and compaction scenarios need no server: they measure the store (and the
        // shard engine) on their own.
        if arguments.first == "journal" { return JournalScenario.main(Array(arguments.dropFirst())) }
        if arguments.first == "compaction" { return CompactionScenario.main(Array(arguments.dropFirst())) }
        // Benchmarks/compare's side-by-side table of earlier result lines (stdin).
        if arguments.first == "compare-table" { return CompareTable.run() }
        let options: BenchOptions
        do {
            options = try BenchOptions.parse(arguments)
        } catch let error as BenchUsageError {
            let help = error.description == "help"
            let text = (help ? "" : "tagarela bench: \(error.description)\n") + BenchOptions.usage + "\n"
            FileHandle.standardError.write(text.data(using: .utf8)!)
            return help ? 0 : 2
        } catch {
            return 2
        }
        if options.scenario == "summarize" { return Summary.run() }
        var o = options
        if o.runID.isEmpty { o.runID = defaultRunID() }
        ProcessSetup.ignoreSIGPIPE()
        let limit = (try? ProcessSetup.raiseOpenFileLimit()) ?? 1024
        let needed = UInt64((o.scenario == "connect" ? o.connections : o.users) + 64)
        if limit < needed {
            FileHandle.standardError.write("tagarela bench: the open-file limit is \(limit), fewer than the \(needed) this run needs\n".data(using: .utf8)!)
            return 2
        }
        do {
            let (report, ok): (BenchReport, Bool)
            switch o.scenario {
            case "connect": (report, ok) = try ConnectScenario.run(o)
            case "storm": (report, ok) = try StormScenario.run(o)
            default: (report, ok) = try ChatScenario.run(o)
            }
            var r = report
            r.add("run_id", .string(o.runID))
            r.add("ok", .bool(ok))
            r.print(header: "tagarela bench \(o.scenario) (run \(o.runID), port \(o.port), \(o.loops) bench thread\(o.loops == 1 ? "" : "s"))")
            return ok ? 0 : 1
        } catch {
            FileHandle.standardError.write("tagarela bench: \(error)\n".data(using: .utf8)!)
            return 1
        }
    }

    /// A short id unique enough per run: base-36 seconds and pid, so usernames never collide
    /// with an earlier run on the same data.
    static func defaultRunID() -> String {
        let t = String(UInt64(Date().timeIntervalSince1970), radix: 36)
        let p = String(UInt32(getpid()) % 1296, radix: 36)
        return String((t.suffix(6) + p).prefix(12))
    }
}
