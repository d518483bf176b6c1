// Slots: the stable key-to-slot hash and the slot-to-worker assignment used for routing.

/// Routing of entity keys (usernames, chat ids) to shards.
///
/// A key hashes to one of `count` slots with 64-bit FNV-1a over its UTF-8 bytes: stable across
/// processes, restarts and Swift versions, unlike the per-process seeded `hashValue`. Slots map
/// to workers by `slot % workers`, so changing the worker count moves whole slots between
/// workers and never rehashes a key; resharding re-partitions data by slot.
public enum Slots {
    /// The fixed number of slots. Changing it would move every key: it is part of the data format
    /// (recorded in the data directory's layout.json).
    public static let count = 1024

    /// FNV-1a 64 offset basis and prime (Fowler, Noll, Vo; draft-eastlake-fnv section 2).
    private static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// The 64-bit FNV-1a hash of the key's UTF-8 bytes.
    public static func hash(_ key: String) -> UInt64 {
        var h = offsetBasis
        var key = key
        key.withUTF8 { utf8 in
            for byte in utf8 {
                h ^= UInt64(byte)
                h = h &* prime
            }
        }
        return h
    }

    /// The slot of a key, in `0..<count`.
    public static func slot(for key: String) -> Int {
        Int(hash(key) % UInt64(count))
    }

    /// The worker that owns a slot when there are `workers` workers.
    public static func worker(forSlot slot: Int, workers: Int) -> Int {
        precondition(workers > 0, "at least one worker")
        precondition(slot >= 0 && slot < count, "slot out of range")
        return slot % workers
    }

    /// The worker that owns a key when there are `workers` workers.
    public static func worker(for key: String, workers: Int) -> Int {
        worker(forSlot: slot(for: key), workers: workers)
    }
}
