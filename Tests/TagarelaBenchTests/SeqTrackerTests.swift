// SeqTrackerTests: duplicate, reordering and gap accounting of one receiver in one chat.
import XCTest
@testable import TagarelaBench

final class SeqTrackerTests: XCTestCase {
    func testInOrderDuplicatesAndReordering() {
        var t = SeqTracker()
        XCTAssertEqual(t.deliver(1), .fresh)
        XCTAssertEqual(t.deliver(2), .fresh)
        XCTAssertEqual(t.deliver(2), .duplicate)
        XCTAssertEqual(t.deliver(5), .fresh)
        XCTAssertEqual(t.deliver(4), .outOfOrder)
        XCTAssertEqual(t.deliver(0), .outOfRange)
        XCTAssertEqual(t.deliver(-3), .outOfRange)
        XCTAssertEqual(t.distinct, 4)
        XCTAssertEqual(t.highestDelivered, 5)
    }

    func testOwnMessagesAreMarkedWithoutOrderCheck() {
        var t = SeqTracker()
        XCTAssertEqual(t.deliver(3), .fresh)
        XCTAssertTrue(t.mark(2))           // own ack arriving after a later delivery: not out of order
        XCTAssertFalse(t.mark(2))
        XCTAssertEqual(t.deliver(4), .fresh)
        XCTAssertEqual(t.missing(upTo: 4), 1)   // seq 1
        XCTAssertEqual(t.contiguousThrough, 0)
        t.mark(1)
        XCTAssertEqual(t.contiguousThrough, 4)
        XCTAssertEqual(t.missing(upTo: 4), 0)
        XCTAssertEqual(t.missing(upTo: 10), 6)
    }

    func testContiguousAndMissingAcrossWords() {
        var t = SeqTracker()
        for s in 1...200 where s != 150 { t.mark(Int64(s)) }
        XCTAssertEqual(t.contiguousThrough, 149)
        XCTAssertEqual(t.missing(upTo: 200), 1)
        XCTAssertEqual(t.missing(upTo: 127), 0)
        XCTAssertEqual(t.missing(upTo: 128), 0)
        t.mark(150)
        XCTAssertEqual(t.contiguousThrough, 200)
        XCTAssertEqual(t.missing(upTo: 64), 0)
        XCTAssertEqual(t.missing(upTo: 63), 0)
        XCTAssertEqual(SeqTracker().missing(upTo: 0), 0)
        XCTAssertEqual(SeqTracker().contiguousThrough, 0)
    }

    func testMissingAgainstABruteForceCount() {
        var t = SeqTracker()
        var rng: UInt64 = 0x9E3779B97F4A7C15
        var seen = Set<Int64>()
        for _ in 0..<3000 {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            let s = Int64(rng % 2000) + 1
            t.mark(s)
            seen.insert(s)
        }
        for upTo: Int64 in [1, 63, 64, 65, 127, 128, 999, 2000, 2500] {
            let expected = upTo - Int64(seen.filter { $0 <= upTo }.count)
            XCTAssertEqual(t.missing(upTo: upTo), expected, "upTo \(upTo)")
        }
        var c: Int64 = 0
        while seen.contains(c + 1) { c += 1 }
        XCTAssertEqual(t.contiguousThrough, c)
    }
}
