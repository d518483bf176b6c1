// HistogramTests: bucket placement at and around each bound, merging, and the refusal of parts that do not fit.
import XCTest
@testable import TagarelaLink

final class HistogramTests: XCTestCase {
    func testEachValueLandsInTheFirstBucketWhoseBoundHoldsIt() {
        var h = Histogram(bounds: [10, 20, 40])
        for v: Int64 in [0, 10, 11, 20, 21, 40, 41, 1_000] { h.observe(v) }
        // le=10 holds 0 and 10 (bounds are inclusive, as Prometheus' `le`), +Inf holds 41 and 1000.
        XCTAssertEqual(h.counts, [2, 2, 2, 2])
        XCTAssertEqual(h.count, 8)
        XCTAssertEqual(h.sum, 0 + 10 + 11 + 20 + 21 + 40 + 41 + 1_000)
    }

    func testObservingABatchCountsEachMember() {
        var h = Histogram(bounds: HistogramBuckets.latencyNs)
        h.observe(300_000, times: 5)
        XCTAssertEqual(h.count, 5)
        XCTAssertEqual(h.sum, 1_500_000)
        XCTAssertEqual(h.counts[3], 5, "300 µs is in the 500 µs bucket")
    }

    func testMergeAddsBucketBySucket() {
        var a = Histogram(bounds: [1, 2])
        var b = Histogram(bounds: [1, 2])
        a.observe(1)
        b.observe(2)
        b.observe(3)
        a.merge(b)
        XCTAssertEqual(a.counts, [1, 1, 1])
        XCTAssertEqual(a.sum, 6)
    }

    func testPartsThatDoNotFitAreRefused() {
        XCTAssertNil(Histogram(bounds: [2, 1], counts: [0, 0, 0], sum: 0), "bounds must ascend")
        XCTAssertNil(Histogram(bounds: [1, 2], counts: [0, 0], sum: 0), "one count per bound plus +Inf")
        XCTAssertNil(Histogram(bounds: Array(0...Int64(Histogram.boundsMax)), counts: [UInt64](repeating: 0, count: Histogram.boundsMax + 2), sum: 0),
                     "more than boundsMax bounds")
        XCTAssertNotNil(Histogram(bounds: [1, 2], counts: [1, 0, 3], sum: 9))
    }

    func testEveryLayoutAscendsWithinTheBound() {
        for bounds in [HistogramBuckets.latencyNs, HistogramBuckets.diskNs, HistogramBuckets.records, HistogramBuckets.compactionNs] {
            XCTAssertNotNil(Histogram(bounds: bounds, counts: [UInt64](repeating: 0, count: bounds.count + 1), sum: 0))
        }
    }
}
