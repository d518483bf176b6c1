// E2ESlots: the routing hash recomputed on the test side (FNV-1a 64 over UTF-8, 1024 slots, slot % workers) to place users and chats on chosen shards.

/// The key-to-worker mapping of README.md "How it is built", Routing, written again here so the tests
/// check the server's placement instead of sharing its code.
public enum E2ESlots {
    /// Slots in the ring (fixed by the data format).
    public static let count: UInt64 = 1024

    /// FNV-1a 64 of the key's UTF-8 bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
    public static func hash(_ key: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// The worker owning `key` among `workers`.
    public static func worker(for key: String, workers: Int) -> Int {
        Int((hash(key) % count) % UInt64(workers))
    }

    /// One username per wanted worker: `prefix` + a counter, the first hit for each worker in
    /// `wanted`, in the order of `wanted` (deterministic; at most `limit` candidates are tried).
    public static func usernames(prefix: String, onWorkers wanted: [Int], workers: Int, limit: Int = 10_000) -> [String] {
        var result = [String?](repeating: nil, count: wanted.count)
        var taken = Set<String>()
        for i in 0..<limit {
            let candidate = "\(prefix)\(i)"
            let w = worker(for: candidate, workers: workers)
            if let slot = wanted.indices.first(where: { wanted[$0] == w && result[$0] == nil }), !taken.contains(candidate) {
                result[slot] = candidate
                taken.insert(candidate)
            }
            if result.allSatisfy({ $0 != nil }) { break }
        }
        precondition(result.allSatisfy { $0 != nil }, "no username for every wanted worker")
        return result.map { $0! }
    }
}
