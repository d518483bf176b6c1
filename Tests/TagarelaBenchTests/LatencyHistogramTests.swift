// LatencyHistogramTests: bucket layout, precision bound, percentiles and merging of the HDR-style histogram.
import XCTest
@testable import TagarelaBench

final class LatencyHistogramTests: XCTestCase {
    func testSmallValuesAreExact() {
        var h = LatencyHistogram()
        for v in 0..<128 { h.record(Int64(v)) }
        XCTAssertEqual(h.totalCount, 128)
        XCTAssertEqual(h.minValue, 0)
        XCTAssertEqual(h.maxValue, 127)
        for v: Int64 in [0, 1, 17, 127] {
            XCTAssertEqual(h.lowestValue(atIndex: h.index(of: v)), v)
            XCTAssertEqual(h.highestValue(atIndex: h.index(of: v)), v)
        }
    }

    func testBucketsAreContiguousAndMonotonic() {
        let h = LatencyHistogram()
        var previousIndex = -1
        var v: Int64 = 0
        // Walk bucket boundaries: every bucket's lowest value follows the previous bucket's highest.
        while v < 1 << 30 {
            let i = h.index(of: v)
            XCTAssertEqual(i, previousIndex + 1, "value \(v)")
            XCTAssertEqual(h.lowestValue(atIndex: i), v)
            previousIndex = i
            v = h.highestValue(atIndex: i) + 1
        }
    }

    func testRelativeErrorIsBounded() {
        let h = LatencyHistogram()
        var v: Int64 = 1
        while v < 1 << 39 {
            let i = h.index(of: v)
            let lo = h.lowestValue(atIndex: i), hi = h.highestValue(atIndex: i)
            XCTAssertLessThanOrEqual(lo, v)
            XCTAssertGreaterThanOrEqual(hi, v)
            XCTAssertLessThanOrEqual(Double(hi - lo) / Double(v), 1.0 / 128 + 1e-12, "value \(v)")
            v = v * 3 + 1
        }
    }

    func testPercentilesOfUniformSamples() {
        var h = LatencyHistogram()
        for v in 1...10_000 { h.record(Int64(v)) }
        XCTAssertEqual(h.value(atPercentile: 100), 10_000)
        XCTAssertEqual(h.value(atPercentile: 0), 1)
        for (p, exact) in [(50.0, 5_000.0), (90.0, 9_000.0), (99.0, 9_900.0), (99.9, 9_990.0)] {
            let got = Double(h.value(atPercentile: p))
            XCTAssertGreaterThanOrEqual(got, exact, "p\(p)")
            XCTAssertLessThanOrEqual(got, exact * (1 + 1.0 / 128) + 1, "p\(p)")
        }
        XCTAssertEqual(h.mean, 5_000.5, accuracy: 1e-9)
    }

    func testPercentileNeverExceedsMaxOrFallsBelowMin() {
        var h = LatencyHistogram()
        h.record(1_000_003, count: 10)
        XCTAssertEqual(h.value(atPercentile: 50), 1_000_003)
        XCTAssertEqual(h.value(atPercentile: 99.9), 1_000_003)
    }

    func testOutOfRangeValuesAreClamped() {
        var h = LatencyHistogram(subBucketBits: 4, highestTrackable: 1 << 10)
        h.record(-5)
        h.record(1 << 20)
        XCTAssertEqual(h.totalCount, 2)
        XCTAssertEqual(h.minValue, 0)
        XCTAssertEqual(h.maxValue, 1 << 20)
        XCTAssertEqual(h.index(of: 1 << 20), h.index(of: 1 << 10))
        XCTAssertEqual(h.value(atPercentile: 100), 1 << 20)
    }

    func testMergeEqualsRecordingEverythingInOne() {
        var a = LatencyHistogram(), b = LatencyHistogram(), all = LatencyHistogram()
        for v in stride(from: 3, to: 50_000, by: 7) { a.record(Int64(v)); all.record(Int64(v)) }
        for v in stride(from: 100_000, to: 900_000, by: 977) { b.record(Int64(v)); all.record(Int64(v)) }
        a.merge(b)
        XCTAssertEqual(a, all)
        var empty = LatencyHistogram()
        empty.merge(all)
        XCTAssertEqual(empty, all)
    }

    func testResetAndEmpty() {
        var h = LatencyHistogram()
        XCTAssertEqual(h.value(atPercentile: 99), 0)
        XCTAssertEqual(h.mean, 0)
        h.record(42)
        h.reset()
        XCTAssertEqual(h, LatencyHistogram())
    }
}
