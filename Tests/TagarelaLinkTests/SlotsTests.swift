// SlotsTests: the slot hash is FNV-1a 64 exactly, stable forever, and spreads keys evenly.
import XCTest
@testable import TagarelaLink

final class SlotsTests: XCTestCase {
    /// Published FNV-1a 64 vectors: if these change, every key in every data directory moves.
    func testFNV1a64Vectors() {
        XCTAssertEqual(Slots.hash(""), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(Slots.hash("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(Slots.hash("foobar"), 0x8594_4171_f739_67e8)
    }

    func testFixedSlotsAndWorkers() {
        XCTAssertEqual(Slots.slot(for: ""), 0x325)
        XCTAssertEqual(Slots.slot(for: "a"), 0x08c)
        XCTAssertEqual(Slots.slot(for: "foobar"), 0x3e8)
        XCTAssertEqual(Slots.worker(for: "foobar", workers: 3), 1000 % 3)
        XCTAssertEqual(Slots.worker(forSlot: 1023, workers: 4), 3)
        XCTAssertEqual(Slots.worker(for: "anything", workers: 1), 0)
    }

    /// Non-ASCII keys hash their UTF-8 bytes, not Unicode scalars or UTF-16.
    func testHashesUTF8Bytes() {
        XCTAssertEqual(Slots.hash("é"), { () -> UInt64 in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b: UInt8 in [0xc3, 0xa9] { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
            return h
        }())
    }

    /// 100k sequential usernames over 1024 slots: every slot used, none far from the mean.
    func testDistribution() {
        var counts = [Int](repeating: 0, count: Slots.count)
        let keys = 100_000
        for i in 0..<keys { counts[Slots.slot(for: "user\(i)")] += 1 }
        let mean = Double(keys) / Double(Slots.count)
        XCTAssertGreaterThan(Double(counts.min()!), mean * 0.5)
        XCTAssertLessThan(Double(counts.max()!), mean * 1.5)
        var perWorker = [Int](repeating: 0, count: 3)
        for slot in 0..<Slots.count { perWorker[Slots.worker(forSlot: slot, workers: 3)] += counts[slot] }
        for n in perWorker { XCTAssertEqual(Double(n), Double(keys) / 3, accuracy: Double(keys) * 0.03) }
    }
}
