// CompactionLoop: the shard and the worker-like loop turns that CompactionScenario compacts and times.
import Foundation
import TagarelaCrypto
import TagarelaShard
import TagarelaStore
import TagarelaSystem

/// A shard engine of groups that the benchmark fills with messages, one request at a time
/// through `handle`, as the worker feeds it.
final class BenchShard {
    let engine: ShardEngine
    private let chats: Int
    private let members: Int
    private let content: String
    private var sent = 0

    /// `chats` groups of `members` users each (user ids of other shards, so none needs to register).
    init(chats: Int, members: Int, contentBytes: Int) {
        // The worker's effects (wall clock, kernel randomness), so the shard's image is like one served.
        engine = ShardEngine(config: EngineConfig(pbkdf2Iterations: 1, clock: { Clock.wallMs() },
                                                  random: { SecureRandom.bytes(count: $0) }, ownsUser: { _ in false }))
        self.chats = chats
        self.members = members
        content = String(repeating: "x", count: contentBytes)
        for k in 0..<chats {
            let others = (1..<members).map { "\"u\(k)_\($0)\"" }.joined(separator: ",")
            let json = #"{"type":"create_group","group_name":"g\#(k)","member_ids":[\#(others)]}"#
            precondition(!handle(json, as: "u\(k)_0", arg: "g:\(k)").isEmpty, "create_group failed")
        }
    }

    /// The next message, round-robin over the chats and their members; returns its records.
    func send() -> [[UInt8]] {
        let chat = sent % chats
        let sender = sent / chats % members
        sent += 1
        return handle(#"{"type":"message","chat_id":"g:\#(chat)","content":"\#(content)"}"#, as: "u\(chat)_\(sender)")
    }

    private func handle(_ json: String, as user: String, arg: String = "") -> [[UInt8]] {
        guard case .done(let result) = engine.handle(EngineRequest(json: Array(json.utf8), userID: user, arg: arg)) else {
            preconditionFailure("no password work in this benchmark")
        }
        return result.records
    }
}

/// A worker's loop in miniature: a turn every millisecond serving `rate / 1000` messages (a
/// late turn runs at once, so a stall is followed by catching up), its records committed at
/// the end of the turn under the store's policy. Turns are timed without the sleep between them.
final class TurnLoop {
    private let shard: BenchShard
    private let store: ShardStore
    private let perTurn: Int
    private var nextTurnAt = 0.0
    /// Seconds of serving before each compaction, for the baseline turn length.
    static let baselineSeconds = 2.0

    init(shard: BenchShard, store: ShardStore, rate: Int) {
        self.shard = shard
        self.store = store
        self.perTurn = max(1, rate / 1000)
    }

    /// One compaction in `mode` (`sync` or `background`) while serving, after a baseline.
    func measure(mode: String) throws -> CompactionScenario.Outcome {
        var o = CompactionScenario.Outcome(mode: mode)
        nextTurnAt = TurnLoop.now()
        let baselineEnd = nextTurnAt + TurnLoop.baselineSeconds
        while TurnLoop.now() < baselineEnd { o.baselineLongestTurnMs = max(o.baselineLongestTurnMs, try turn()) }
        let start = TurnLoop.now()
        if mode == "sync" {
            o.longestTurnMs = try turn {
                let snapshot = shard.engine.snapshot()
                o.snapshotBytes = snapshot.count
                try store.compact(snapshot: snapshot)
            }
            o.loopShareMs = o.longestTurnMs
            o.servedDuring = perTurn
        } else {
            let mailbox = Mailbox()
            var compaction: Compaction?
            o.longestTurnMs = try turn {
                let begun = TurnLoop.now()
                let started = try store.beginCompaction()
                let image = shard.engine.image()
                o.loopShareMs = (TurnLoop.now() - begun) * 1000
                started.writeInBackground(serialise: {
                    let bytes = image.serialised()
                    mailbox.snapshotBytes = bytes.count
                    return bytes
                }, done: { mailbox.put($0) })
                compaction = started
            }
            o.servedDuring = perTurn
            var finished = false
            while !finished {
                let length = try turn {
                    guard let outcome = mailbox.take(), let compaction else { return }
                    try outcome.get()
                    try store.finishCompaction(compaction)
                    finished = true
                }
                o.longestTurnMs = max(o.longestTurnMs, length)
                o.servedDuring += perTurn
            }
            o.snapshotBytes = mailbox.snapshotBytes
        }
        o.totalMs = (TurnLoop.now() - start) * 1000
        return o
    }

    /// Waits for the turn's time, runs `extra` then serves and commits; the turn's length in ms.
    private func turn(_ extra: () throws -> Void = {}) throws -> Double {
        let wait = nextTurnAt - TurnLoop.now()
        if wait > 0 { usleep(UInt32(wait * 1e6)) }
        nextTurnAt += 0.001
        let start = TurnLoop.now()
        try extra()
        for _ in 0..<perTurn {
            for record in shard.send() { store.append(record) }
        }
        try store.commit()
        return (TurnLoop.now() - start) * 1000
    }

    static func now() -> Double { Double(Clock.monotonicNs()) / 1e9 }
}

/// Hands the snapshot thread's outcome to the loop.
private final class Mailbox: @unchecked Sendable {
    private let lock = NSLock()
    private var outcome: Result<Void, StoreError>?
    /// Written by the snapshot thread before `put`, read by the loop after `take`.
    var snapshotBytes = 0

    func put(_ value: Result<Void, StoreError>) { lock.withLock { outcome = value } }
    func take() -> Result<Void, StoreError>? { lock.withLock { defer { outcome = nil }; return outcome } }
}
