// SeqTracker: which `seq` numbers of one chat a receiver has seen, to count duplicates, reordering and gaps.

/// The set of sequence numbers one receiver has seen in one chat, as a growable bitset.
///
/// Deliveries are checked for order (a fresh `seq` below the highest delivered one is out of
/// order) and for duplicates (a `seq` seen before). The receiver's own messages, learned from
/// the acknowledgements, and messages fetched by a catch-up are marked without an order check, so
/// that at the end `missing(upTo:)` tells whether every message of the chat reached the receiver.
public struct SeqTracker: Equatable {
    /// The outcome of observing one sequence number.
    public enum Outcome: Equatable {
        /// Not seen before, in order.
        case fresh
        /// Not seen before, but below the highest delivered sequence number.
        case outOfOrder
        /// Seen before.
        case duplicate
        /// Zero, negative or above `maxSeq`: not tracked.
        case outOfRange
    }

    /// The largest sequence number tracked (64 Mi messages per chat: 8 MiB of bits at most).
    public static let maxSeq: Int64 = 1 << 26

    private var words: [UInt64] = []
    /// Highest sequence number observed as a delivery (the order check uses it).
    public private(set) var highestDelivered: Int64 = 0
    /// Highest sequence number observed in any way.
    public private(set) var highest: Int64 = 0
    /// How many distinct sequence numbers were observed.
    public private(set) var distinct: Int64 = 0

    /// Creates an empty tracker.
    public init() {}

    /// Records a delivery (`message:new`) of `seq`, with the order and duplicate checks.
    public mutating func deliver(_ seq: Int64) -> Outcome {
        guard let fresh = insert(seq) else { return .outOfRange }
        if !fresh { return .duplicate }
        if seq < highestDelivered { return .outOfOrder }
        highestDelivered = seq
        return .fresh
    }

    /// Records `seq` without the order check (own acknowledged messages, catch-up pages);
    /// returns whether it was new.
    @discardableResult
    public mutating func mark(_ seq: Int64) -> Bool {
        insert(seq) ?? false
    }

    /// Whether `seq` was observed.
    public func contains(_ seq: Int64) -> Bool {
        guard seq > 0 && seq <= SeqTracker.maxSeq else { return false }
        let word = Int(seq >> 6)
        return word < words.count && words[word] & (1 << UInt64(seq & 63)) != 0
    }

    /// The largest `n` such that every sequence number in `1...n` was observed (0 if `1` is missing):
    /// the right `after_seq` for a catch-up.
    public var contiguousThrough: Int64 {
        var seq: Int64 = 1
        var word = 0
        // Skip full words first: 64 sequence numbers per step.
        while word < words.count {
            let w = words[word]
            let full: UInt64 = word == 0 ? ~UInt64(1) : ~UInt64(0)   // bit 0 of word 0 is seq 0, never used
            if w & full != full { break }
            word += 1
            seq = Int64(word) << 6
        }
        if seq == 0 { seq = 1 }
        while contains(seq) { seq += 1 }
        return seq - 1
    }

    /// How many of the sequence numbers `1...upTo` were not observed.
    public func missing(upTo: Int64) -> Int64 {
        guard upTo > 0 else { return 0 }
        let limit = min(upTo, SeqTracker.maxSeq)
        var seen: Int64 = 0
        let lastWord = Int(limit >> 6)
        for word in 0...lastWord where word < words.count {
            var w = words[word]
            if word == lastWord {
                let keep = Int(limit & 63) + 1                  // bits 0...limit%64
                w &= keep == 64 ? ~UInt64(0) : (UInt64(1) << UInt64(keep)) - 1
            }
            if word == 0 { w &= ~UInt64(1) }
            seen += Int64(w.nonzeroBitCount)
        }
        return limit - seen
    }

    /// Sets the bit of `seq`; nil when out of range, else whether it was new.
    @inline(__always)
    private mutating func insert(_ seq: Int64) -> Bool? {
        guard seq > 0 && seq <= SeqTracker.maxSeq else { return nil }
        let word = Int(seq >> 6)
        if word >= words.count {
            // Grow geometrically so a long run costs amortised O(1) per message.
            let target = max(word + 1, words.count * 2, 16)
            words.append(contentsOf: repeatElement(0, count: target - words.count))
        }
        let bit: UInt64 = 1 << UInt64(seq & 63)
        if words[word] & bit != 0 { return false }
        words[word] |= bit
        distinct += 1
        if seq > highest { highest = seq }
        return true
    }
}
