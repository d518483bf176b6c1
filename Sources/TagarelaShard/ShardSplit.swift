// ShardSplit: re-partitions the state of several shards into a new number of shards by the slot of each entity's key.

import TagarelaModel

extension ShardEngine {
    /// Splits (or merges) the state of `engines` into `count` new engines. Users go with their
    /// sessions to `shardOf(username)`, chats with their history and markers to
    /// `shardOf(chatID)`. The old engines are left untouched (state is copied).
    public static func reshard(_ engines: [ShardEngine], into count: Int, config: EngineConfig,
                               shardOf: (String) -> Int) -> [ShardEngine] {
        precondition(count >= 1, "need at least one shard")
        let out = (0..<count).map { _ in ShardEngine(config: config) }
        func target(_ key: String) -> ShardEngine {
            let k = shardOf(key)
            precondition(k >= 0 && k < count, "shardOf returned \(k) for \(count) shards")
            return out[k]
        }
        for old in engines {
            for name in old.sortedUsernames {
                let t = target(name)
                precondition(t.users[name] == nil, "user \(name) exists in two shards")
                t.users[name] = old.users[name]!
                t.insertSorted(name)
            }
            for (id, s) in old.sessions { target(s.username).addSession(id, s) }
            for (id, chat) in old.chats {
                let t = target(id)
                precondition(t.chats[id] == nil, "chat \(id) exists in two shards")
                t.chats[id] = chat.copy()
                for m in chat.chat.memberIDs { t.userChats[m, default: []].insert(id) }
            }
        }
        return out
    }

    /// `reshard` with the link's slot function: new shard = `slotOf(key) % count`, the same
    /// rule as `Slots.worker(forSlot:workers:)`.
    public static func reshard(_ engines: [ShardEngine], into count: Int, config: EngineConfig,
                               slotOf: (String) -> Int) -> [ShardEngine] {
        reshard(engines, into: count, config: config, shardOf: { slotOf($0) % count })
    }

    /// The byte-level split the store's resharding helper calls: every old shard's snapshot
    /// and journal in, one snapshot per new shard out.
    public static func reshard(shards: [(snapshot: [UInt8]?, records: [[UInt8]])], into count: Int,
                               config: EngineConfig, slotOf: (String) -> Int) throws(ShardDataError) -> [[UInt8]] {
        var engines: [ShardEngine] = []
        for s in shards { engines.append(try load(snapshot: s.snapshot, records: s.records, config: config)) }
        return reshard(engines, into: count, config: config, slotOf: slotOf).map { $0.snapshot() }
    }

    /// `reshard(shards:...)` that also names each new shard's attachment files (sorted), so the
    /// store moves them with their chats.
    public static func reshardWithAttachments(shards: [(snapshot: [UInt8]?, records: [[UInt8]])], into count: Int,
                                              config: EngineConfig, slotOf: (String) -> Int)
        throws(ShardDataError) -> [(snapshot: [UInt8], attachments: [String])] {
        var engines: [ShardEngine] = []
        for s in shards { engines.append(try load(snapshot: s.snapshot, records: s.records, config: config)) }
        return reshard(engines, into: count, config: config, slotOf: slotOf).map {
            ($0.snapshot(), $0.referencedAttachments().sorted())
        }
    }
}
