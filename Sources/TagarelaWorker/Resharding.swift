// Resharding: `tagarela reshard`, which re-partitions an instance's data for a new worker count, crash-safely.
import Foundation
import TagarelaLink
import TagarelaShard
import TagarelaStore

/// Moves slots between shard folders when the worker count changes. Keys are never rehashed:
/// every entity keeps its slot (`Slots.slot(for:)`), and slot -> worker is `slot % workers`.
public enum Resharding {
    /// Finishes or rolls back a re-partition that a crash interrupted, and writes the layout
    /// file of a fresh instance (`workers` then names its worker count).
    /// The whole data folder is made private first (0700 folders, 0600 files, `run/` included):
    /// the supervisor calls this at every start, so an instance an older version left readable
    /// by other accounts is closed before anything serves it.
    public static func recover(dataDirectory: String, workers: Int?, log: (String) -> Void) throws {
        try PrivateFiles.makePrivate(dataDirectory, recursive: true, log: { log("data \(dataDirectory): " + $0) })
        try Reshard.recover(dataDir: dataDirectory, log: log)
        if try Layout.read(dataDir: dataDirectory) == nil, let workers {
            try Layout.write(Layout(workers: workers, slots: Slots.count), dataDir: dataDirectory)
        }
        if let layout = try Layout.read(dataDir: dataDirectory), layout.slots != Slots.count {
            throw ReshardingError.slotCountChanged(data: layout.slots, code: Slots.count)
        }
    }

    /// Re-partitions `dataDirectory` from its current worker count to `workers`. The old
    /// layout stays in place until the new one is complete on disk (see `Reshard.run`).
    public static func run(dataDirectory: String, to workers: Int, log: (String) -> Void) throws {
        try recover(dataDirectory: dataDirectory, workers: nil, log: log)
        // Without a layout file (an instance started before the supervisor recorded one), the
        // shard folders on disk say how the data is split: assuming 1 would drop shards 1...N-1.
        // Its slots are this build's (`recover` refuses any other), and the reshard needs them stated.
        let current: Int
        if let layout = try Layout.read(dataDir: dataDirectory) {
            current = layout.workers
        } else {
            current = shardFolderCount(dataDirectory)
            try Layout.write(Layout(workers: current, slots: Slots.count), dataDir: dataDirectory)
        }
        if current == workers {
            log("already partitioned for \(workers) workers")
            return
        }
        let config = EngineConfig.withRealEffects()
        // Each chat's attachment files move with it (Reshard.NewShard).
        try Reshard.run(dataDir: dataDirectory, from: current, to: workers, log: log, splitShards: { shards in
            try ShardEngine.reshardWithAttachments(shards: shards.map { ($0.snapshot, $0.records) }, into: workers,
                                                   config: config, slotOf: Slots.slot(for:))
                .map { Reshard.NewShard(snapshot: $0.snapshot, attachments: $0.attachments) }
        })
        log("re-partitioned from \(current) to \(workers) workers")
    }
}

/// The number of consecutive `shard-K` folders from `shard-0` in `dataDirectory` (at least 1).
func shardFolderCount(_ dataDirectory: String) -> Int {
    var count = 0
    var isDirectory: ObjCBool = false
    while FileManager.default.fileExists(atPath: dataDirectory + "/shard-\(count)", isDirectory: &isDirectory),
          isDirectory.boolValue {
        count += 1
    }
    return max(1, count)
}

/// Why the data cannot be served as it is.
public enum ReshardingError: Error, CustomStringConvertible {
    case slotCountChanged(data: Int, code: Int)

    public var description: String {
        switch self {
        case let .slotCountChanged(data, code):
            return "the data uses \(data) slots but this build uses \(code); keys would move between shards"
        }
    }
}
