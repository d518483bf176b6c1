// LatencyHistogram: an HDR-style log-linear histogram of non-negative integer samples (microseconds).

/// A fixed-size, allocation-free-on-record histogram in the spirit of HdrHistogram.
///
/// Values below `2^subBucketBits` are counted exactly; above, each power-of-two range
/// `[2^m, 2^(m+1))` is split into `2^subBucketBits` equal buckets, so every recorded value is
/// known to within `2^-subBucketBits` of itself (0.78 % with the default 7 bits). Values above
/// `highestTrackable` are counted in its bucket (and exactly in `maxValue`).
/// Percentiles report the highest value of the bucket they fall in, as HdrHistogram does, so a
/// reported percentile is never below the true one.
public struct LatencyHistogram: Equatable {
    /// log2 of the number of buckets per power of two (precision).
    public let subBucketBits: Int
    /// The largest value kept in its own bucket; larger ones are counted in its bucket.
    public let highestTrackable: Int64
    /// Bucket counts, indexed by `index(of:)`.
    public private(set) var counts: [UInt64]
    /// Number of samples recorded.
    public private(set) var totalCount: UInt64 = 0
    /// Smallest recorded value (exact), or 0 when empty.
    public private(set) var minValue: Int64 = 0
    /// Largest recorded value (exact), or 0 when empty.
    public private(set) var maxValue: Int64 = 0
    /// Sum of the recorded values (for the mean); values are clamped at 0.
    public private(set) var sum: Double = 0

    /// Creates an empty histogram. The default tracks up to 2^40 µs (about 12 days) at 0.78 %.
    public init(subBucketBits: Int = 7, highestTrackable: Int64 = 1 << 40) {
        precondition(subBucketBits >= 1 && subBucketBits <= 16, "subBucketBits out of range")
        precondition(highestTrackable >= Int64(1) << subBucketBits, "highestTrackable too small")
        self.subBucketBits = subBucketBits
        self.highestTrackable = highestTrackable
        let topExponent = 63 - highestTrackable.leadingZeroBitCount
        let bucketCount = (1 << subBucketBits) * (topExponent - subBucketBits + 2)
        counts = [UInt64](repeating: 0, count: bucketCount)
    }

    /// The bucket a value falls in (values are clamped to `0...highestTrackable`).
    @inline(__always)
    public func index(of value: Int64) -> Int {
        let v = value < 0 ? 0 : (value > highestTrackable ? highestTrackable : value)
        let sub = Int64(1) << subBucketBits
        if v < sub { return Int(v) }
        let exponent = 63 - v.leadingZeroBitCount          // m, with 2^m <= v < 2^(m+1)
        let shift = exponent - subBucketBits
        let inRange = Int(v >> Int64(shift)) - Int(sub)     // 0 ..< sub
        return Int(sub) * (shift + 1) + inRange
    }

    /// The smallest value that falls in bucket `index`.
    public func lowestValue(atIndex index: Int) -> Int64 {
        let sub = 1 << subBucketBits
        if index < sub { return Int64(index) }
        let shift = index / sub - 1
        let inRange = index % sub
        return Int64(sub + inRange) << Int64(shift)
    }

    /// The largest value that falls in bucket `index`.
    public func highestValue(atIndex index: Int) -> Int64 {
        let sub = 1 << subBucketBits
        if index < sub { return Int64(index) }
        let shift = index / sub - 1
        return lowestValue(atIndex: index) + (Int64(1) << Int64(shift)) - 1
    }

    /// Records one sample.
    @inline(__always)
    public mutating func record(_ value: Int64) {
        record(value, count: 1)
    }

    /// Records `count` samples of the same value.
    public mutating func record(_ value: Int64, count: UInt64) {
        guard count > 0 else { return }
        let v = value < 0 ? 0 : value
        counts[index(of: v)] &+= count
        if totalCount == 0 {
            minValue = v
            maxValue = v
        } else {
            if v < minValue { minValue = v }
            if v > maxValue { maxValue = v }
        }
        totalCount &+= count
        sum += Double(v) * Double(count)
    }

    /// Adds every sample of `other` (which must have the same layout).
    public mutating func merge(_ other: LatencyHistogram) {
        precondition(other.subBucketBits == subBucketBits && other.counts.count == counts.count,
                     "merging histograms of different layouts")
        guard other.totalCount > 0 else { return }
        for i in 0..<counts.count where other.counts[i] != 0 {
            counts[i] &+= other.counts[i]
        }
        if totalCount == 0 {
            minValue = other.minValue
            maxValue = other.maxValue
        } else {
            minValue = min(minValue, other.minValue)
            maxValue = max(maxValue, other.maxValue)
        }
        totalCount &+= other.totalCount
        sum += other.sum
    }

    /// Forgets every sample.
    public mutating func reset() {
        for i in 0..<counts.count { counts[i] = 0 }
        totalCount = 0
        minValue = 0
        maxValue = 0
        sum = 0
    }

    /// The mean of the recorded values, or 0 when empty.
    public var mean: Double { totalCount == 0 ? 0 : sum / Double(totalCount) }

    /// The value at `percentile` (0...100): the highest value of the bucket holding the sample of
    /// rank `ceil(percentile / 100 * count)`, capped by the exact maximum. 0 when empty.
    public func value(atPercentile percentile: Double) -> Int64 {
        guard totalCount > 0 else { return 0 }
        let p = min(100, max(0, percentile))
        var rank = UInt64((p / 100 * Double(totalCount)).rounded(.up))
        if rank < 1 { rank = 1 }
        if rank >= totalCount { return maxValue }
        var seen: UInt64 = 0
        for i in 0..<counts.count {
            seen &+= counts[i]
            if seen >= rank {
                return min(max(highestValue(atIndex: i), minValue), maxValue)
            }
        }
        return maxValue
    }
}
