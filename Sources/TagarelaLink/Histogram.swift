// Histogram: a fixed-bucket histogram of integer observations (nanoseconds or counts), cheap enough for a loop's hot path and mergeable at scrape time.

/// Counts observations into buckets fixed when it is made (Prometheus' classic histogram, not a
/// sketch): observing is a short scan of a small array and two additions, with no allocation, so
/// a loop may observe every request. Each histogram is owned by one loop thread; `/metrics` takes
/// copies and merges them (`merge`), so no observation needs an atomic.
///
/// Values are integers in the histogram's base unit (nanoseconds for durations, records for
/// sizes); `unitScale` says how many base units make one exposition unit (1e9 for seconds), so
/// the renderer prints `le` bounds and `_sum` in Prometheus' base units.
public struct Histogram: Equatable, Sendable {
    /// Inclusive upper bounds of the finite buckets, ascending, in base units.
    public let bounds: [Int64]
    /// Observations per bucket (not cumulative): `counts[i]` for `bounds[i]`, the last for +Inf.
    public private(set) var counts: [UInt64]
    /// Sum of every observed value, in base units (wraps only after 292 years of nanoseconds).
    public private(set) var sum: Int64 = 0

    /// An empty histogram over `bounds` (ascending, at most `boundsMax`).
    public init(bounds: [Int64]) {
        precondition(!bounds.isEmpty && bounds.count <= Histogram.boundsMax, "1...\(Histogram.boundsMax) bounds")
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds must ascend")
        self.bounds = bounds
        self.counts = [UInt64](repeating: 0, count: bounds.count + 1)
    }

    /// Restores a histogram from its parts (the link decoder); nil when they do not fit together.
    public init?(bounds: [Int64], counts: [UInt64], sum: Int64) {
        guard !bounds.isEmpty, bounds.count <= Histogram.boundsMax, counts.count == bounds.count + 1,
              zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else { return nil }
        self.bounds = bounds
        self.counts = counts
        self.sum = sum
    }

    /// More buckets than this buys nothing a dashboard can show and costs every scrape; the
    /// link decoder refuses a histogram past it before reserving anything.
    public static let boundsMax = 64

    /// Observations in all.
    public var count: UInt64 { counts.reduce(0, &+) }

    /// Counts `value` (`times` times: a batch that waited together).
    @inline(__always)
    public mutating func observe(_ value: Int64, times: UInt64 = 1) {
        var index = 0
        let n = bounds.count
        while index < n && value > bounds[index] { index += 1 }
        counts[index] &+= times
        sum &+= value &* Int64(truncatingIfNeeded: times)
    }

    /// Adds `other`'s observations (same bounds; a histogram of other bounds is a programmer error).
    public mutating func merge(_ other: Histogram) {
        precondition(other.bounds == bounds, "merging histograms of different buckets")
        for i in 0..<counts.count { counts[i] &+= other.counts[i] }
        sum &+= other.sum
    }
}

/// The bucket layouts, each chosen for what it measures (the reasons are the comments).
public enum HistogramBuckets {
    /// Durations a user feels, from a reply built in the same loop turn (tens of microseconds)
    /// to a worker past its 10 s request deadline: 50 µs to 10 s, about 2.5x apart, so both the
    /// idle median (sub-millisecond) and a saturated p99 (tens to hundreds of ms) land inside.
    public static let latencyNs: [Int64] = [
        50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000,
        50_000_000, 100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 10_000_000_000,
    ]

    /// Disk syncs and group commits: an fdatasync on a good SSD takes 50 µs to a few ms, a busy
    /// or virtual disk tens to hundreds of ms; a commit without sync (policy never) takes
    /// microseconds. 10 µs to 1 s.
    public static let diskNs: [Int64] = [
        10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
        10_000_000, 25_000_000, 50_000_000, 100_000_000, 250_000_000, 1_000_000_000,
    ]

    /// Records per group commit: 1 when idle, a loop turn's worth under load (the journal
    /// benchmark's group of 256, README), powers of 4 up to 4096 so each bucket is a regime.
    public static let records: [Int64] = [1, 2, 4, 16, 64, 256, 1024, 4096]

    /// Compactions serialise and fsync a whole shard: from milliseconds for a small shard to
    /// minutes for millions of messages. 10 ms to 5 min.
    public static let compactionNs: [Int64] = [
        10_000_000, 50_000_000, 100_000_000, 500_000_000, 1_000_000_000, 5_000_000_000,
        10_000_000_000, 30_000_000_000, 60_000_000_000, 300_000_000_000,
    ]
}
