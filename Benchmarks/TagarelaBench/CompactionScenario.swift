// CompactionScenario: `tagarela bench compaction`, how long compacting a large shard stalls the worker's loop, on the loop and off it.
import Foundation
import TagarelaShard
import TagarelaStore
import TagarelaSystem

/// Builds one shard in memory (`--messages` messages spread over `--chats` groups), then serves
/// messages in loop turns as a worker does (each turn: handle the requests due, append their
/// records, commit under the fsync policy) and compacts the shard while it serves, each way:
/// - `sync`: the whole compaction inside one turn, as the worker did before issue 9
///   (`ShardStore.compact(snapshot: engine.snapshot())`);
/// - `background`: the loop begins it and takes the engine's image, the snapshot thread
///   serialises and writes it, a later turn finishes it (what `WorkerServer+Compaction` does).
/// Per compaction it reports the longest loop turn while the compaction was in flight (the
/// loop's stall), the longest turn of the same length of serving just before (the baseline),
/// the loop's own share at the start (begin + image), and the compaction's whole time.
public enum CompactionScenario {
    struct Settings {
        var messages = 1_000_000
        var chats = 1000
        var members = 10
        var contentBytes = 64
        /// Messages per second served while measuring.
        var rate = 20_000
        /// Each mode, this many times.
        var runs = 3
        var modes = ["sync", "background"]
        var directory = FileManager.default.currentDirectoryPath
        var fsync = FsyncPolicy.always
    }

    struct Outcome {
        var mode: String
        var snapshotBytes = 0
        var loopShareMs = 0.0
        var longestTurnMs = 0.0
        var baselineLongestTurnMs = 0.0
        var totalMs = 0.0
        var servedDuring = 0
    }

    /// `tagarela bench compaction [--messages N] [--chats C] [--rate R] [--runs K]
    /// [--mode sync|background|both] [--fsync always|interval|never] [--dir DIR]`.
    public static func main(_ arguments: [String]) -> Int32 {
        var s = Settings()
        var i = 0
        while i + 1 < arguments.count {
            let value = arguments[i + 1]
            switch arguments[i] {
            case "--messages": s.messages = Int(value) ?? s.messages
            case "--chats": s.chats = max(1, Int(value) ?? s.chats)
            case "--rate": s.rate = max(1, Int(value) ?? s.rate)
            case "--runs": s.runs = max(1, Int(value) ?? s.runs)
            case "--mode": s.modes = value == "both" ? ["sync", "background"] : [value]
            case "--fsync": s.fsync = FsyncPolicy(rawValue: value) ?? s.fsync
            case "--dir": s.directory = value
            default:
                print("unknown option \(arguments[i]) (see Benchmarks/README.md, compaction)")
                return 2
            }
            i += 2
        }
        guard s.modes.allSatisfy({ ["sync", "background"].contains($0) }) else {
            print("--mode must be sync, background or both")
            return 2
        }
        do {
            try run(s)
            return 0
        } catch {
            print("compaction benchmark failed: \(error)")
            return 1
        }
    }

    static func run(_ s: Settings) throws {
        let path = s.directory + "/compaction-bench-\(getpid())"
        let store = try ShardStore.open(directory: path, policy: s.fsync, log: { _ in }).store
        defer {
            store.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let buildStart = Clock.monotonicMs()
        let shard = BenchShard(chats: s.chats, members: s.members, contentBytes: s.contentBytes)
        // Built in memory, as if loaded from a snapshot: the journal holds only what is served.
        for _ in 0..<s.messages { _ = shard.send() }
        progress("built a shard of \(s.messages) messages in \(s.chats) chats in \(Clock.monotonicMs() - buildStart) ms")
        let loop = TurnLoop(shard: shard, store: store, rate: s.rate)
        var outcomes: [Outcome] = []
        for run in 0..<s.runs {
            for mode in s.modes {
                let o = try loop.measure(mode: mode)
                outcomes.append(o)
                progress("run \(run + 1) \(mode): loop stall \(format(o.longestTurnMs)) ms, total \(format(o.totalMs)) ms")
            }
        }
        print("compaction of a shard of \(s.messages) messages in \(s.chats) chats, serving \(s.rate) messages/s, "
              + "fsync \(s.fsync.rawValue), in \(s.directory)")
        print("mode         snapshot MB   loop stall ms   baseline turn ms   loop share ms   total ms   served during")
        for o in outcomes {
            print(o.mode.padding(toLength: 12, withPad: " ", startingAt: 0)
                  + pad(format(Double(o.snapshotBytes) / 1e6), 12) + pad(format(o.longestTurnMs), 16)
                  + pad(format(o.baselineLongestTurnMs), 19) + pad(format(o.loopShareMs), 16)
                  + pad(format(o.totalMs), 11) + pad("\(o.servedDuring)", 16))
        }
        let json = outcomes.map {
            "{\"mode\":\"\($0.mode)\",\"snapshot_bytes\":\($0.snapshotBytes),\"stall_ms\":\(format($0.longestTurnMs)),"
                + "\"baseline_turn_ms\":\(format($0.baselineLongestTurnMs)),\"loop_share_ms\":\(format($0.loopShareMs)),"
                + "\"total_ms\":\(format($0.totalMs)),\"served_during\":\($0.servedDuring)}"
        }.joined(separator: ",")
        print("{\"scenario\":\"compaction\",\"messages\":\(s.messages),\"chats\":\(s.chats),\"results\":[\(json)]}")
    }

    static func progress(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
    static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
