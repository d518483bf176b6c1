// WorkerMetrics: what a worker measures about itself (group commits, fdatasync, compactions, starts) and the stats it answers the gateway with.
import TagarelaLink
import TagarelaShard
import TagarelaStore
import TagarelaSystem

/// The worker's histograms and counters. Owned by the worker's loop thread and touched only
/// there (the snapshot thread hands its result back through `execute`), so nothing is atomic.
struct WorkerMetrics {
    /// One `store.commit()`: the write and, under `always`, the fdatasync.
    var commitNs = Histogram(bounds: HistogramBuckets.diskNs)
    /// Every fdatasync of the journal (`ShardStore.onSync`): the group commit's under `always`,
    /// the 1 s timer's under `interval`, and a compaction's before it switches journals.
    var fdatasyncNs = Histogram(bounds: HistogramBuckets.diskNs)
    /// Journal records per group commit (how much one write and one fdatasync are shared).
    var commitRecords = Histogram(bounds: HistogramBuckets.records)
    /// A compaction from the switch of journals to the old journal's deletion.
    var compactionNs = Histogram(bounds: HistogramBuckets.compactionNs)
    var commits: Int64 = 0
    var compactions: Int64 = 0
    /// How many times a worker has started on this shard folder (`StartCounter`).
    var starts: Int64 = 0

    /// The answer to a gateway's `statsRequest`.
    func stats(nonce: UInt64, engine: ShardEngine, store: ShardStore) -> WorkerStats {
        typealias N = WorkerStats.Name
        let shard = engine.stats
        return WorkerStats(nonce: nonce, values: [
            .init(N.users, Int64(shard.users)), .init(N.chats, Int64(shard.chats)),
            .init(N.messages, Int64(shard.messages)), .init(N.sessions, Int64(shard.sessions)),
            .init(N.journalBytes, Int64(store.journalBytes)), .init(N.compactions, compactions),
            .init(N.starts, starts), .init(N.commits, commits),
        ], histograms: [
            .init(N.commitSeconds, commitNs), .init(N.fdatasyncSeconds, fdatasyncNs),
            .init(N.commitRecords, commitRecords), .init(N.compactionSeconds, compactionNs),
        ])
    }
}

/// Counts the worker's starts in `starts` in its shard folder: the supervisor restarts a worker
/// that dies (deploy/tagarela, or systemd), and either way the rise of this count without a
/// deploy is a crash, a kill or a hang. A file in the shard folder rather than the supervisor's
/// memory, so it is the same under `deploy/tagarela` and systemd and survives the supervisor.
enum StartCounter {
    static let fileName = "starts"

    /// Reads, increments and durably rewrites the count (0600); returns the new value. A file
    /// that cannot be read or written counts from 1 and is logged: it only feeds `/metrics`.
    static func increment(storeDirectory: String, log: (String) -> Void) -> Int64 {
        let path = storeDirectory + "/" + fileName
        let previous = (try? FileIO.readFile(path)).flatMap { $0 }
            .flatMap { bytes in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.flatMap { Int64($0) } } ?? 0
        let now = previous + 1
        do {
            try FileTree.replaceDurably(path, with: Array("\(now)\n".utf8), temporary: path + ".tmp")
        } catch {
            log("could not write \(path): \(error)")
        }
        return now
    }
}
