// PartialInputBudget: one loop's share of the bound on unfinished input, and which connections to close when it is passed.

/// The unfinished input (a partial NDJSON line, WebSocket message or HTTP head) each connection
/// of one loop holds, their total, and which connections must go when the total passes
/// `bytesMax` (`Limits.partialInputBytesMax`, split evenly over the loops).
///
/// Pure bookkeeping, so the policy is tested without sockets: the loop reports sizes after
/// each read, and closes the connections `update` names. Only connections holding something
/// are tracked, so choosing victims looks at the few holders, never at every idle connection.
struct PartialInputBudget {
    /// This loop's share of the bound.
    let bytesMax: Int
    /// Bytes held by every tracked connection together.
    private(set) var totalBytes = 0
    /// Connection id -> bytes it holds (never 0: a connection holding nothing is dropped).
    private var holders: [UInt64: Int] = [:]

    init(bytesMax: Int) {
        precondition(bytesMax > 0, "the partial-input budget must be positive")
        self.bytesMax = bytesMax
    }

    /// Connections holding unfinished input.
    var holderCount: Int { holders.count }

    /// Records that connection `id` now holds `bytes`, and returns the connections to close,
    /// biggest holder first, until the rest fits (PROTOCOL.md 3.5). They are forgotten here
    /// already: the caller closes them and reports nothing more for them.
    mutating func update(_ id: UInt64, bytes: Int) -> [UInt64] {
        let old = holders[id] ?? 0
        totalBytes += bytes - old
        holders[id] = bytes == 0 ? nil : bytes
        var victims: [UInt64] = []
        // Biggest first: that frees the most memory for the fewest closed connections, and the
        // connections that hold the most are the ones a slow sender builds up. Usually one
        // round: the total was within the bound before this one connection grew. Ties go to
        // the newer connection (a higher id), so a flood does not push out those already there.
        while totalBytes > bytesMax, let biggest = holders.max(by: { ($0.value, $0.key) < ($1.value, $1.key) }) {
            holders[biggest.key] = nil
            totalBytes -= biggest.value
            victims.append(biggest.key)
        }
        return victims
    }

    /// Forgets connection `id` (closed).
    mutating func remove(_ id: UInt64) {
        if let bytes = holders.removeValue(forKey: id) { totalBytes -= bytes }
    }
}
