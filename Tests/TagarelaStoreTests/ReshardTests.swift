// ReshardTests: layout.json, a full reshard, and a crash after every step of resharding and of its recovery.
import Foundation
import XCTest
@testable import TagarelaStore
import TagarelaSystem
import TestSupport

final class ReshardTests: XCTestCase {
    var temp: TempDirectory!

    override func setUp() { temp = TempDirectory(prefix: "tagarela-reshard") }
    override func tearDown() { temp.remove() }

    /// Entries are "k<n>=v"; entry n lives on shard n % workers.
    private func entry(_ n: Int) -> String { "k\(n)=v\(n)" }
    private func key(_ entry: String) -> Int { Int(entry.dropFirst().prefix { $0 != "=" })! }
    private let entryCount = 40
    /// Not the link's 1024: the store keeps whatever slot count layout.json states.
    private let slots = 16

    /// Builds `workers` shards; shard 0 is compacted halfway so snapshots and journals both matter.
    private func makeData(_ dataDir: String, workers: Int) throws {
        try Layout.write(Layout(workers: workers, slots: slots), dataDir: dataDir)
        for shard in 0..<workers {
            let store = try ShardStore.open(directory: Reshard.shardDirectory(dataDir: dataDir, shard: shard),
                                            policy: .always, log: { _ in }).store
            let mine = (0..<entryCount).filter { $0 % workers == shard }.map(entry)
            for (i, e) in mine.enumerated() {
                store.append(Array(e.utf8))
                if shard == 0 && i == mine.count / 2 {
                    try store.compact(snapshot: snapshotBytes(Array(mine[...i])))
                }
            }
            try store.commit()
            store.close()
        }
    }

    private func split(to workers: Int) -> ([Reshard.ShardContents]) throws -> [[UInt8]] {
        return { old in
            let all = old.flatMap { entries(snapshot: $0.snapshot, records: $0.records) }
            return (0..<workers).map { shard in snapshotBytes(all.filter { self.key($0) % workers == shard }) }
        }
    }

    /// Every shard holds exactly its entries and nothing of the reshard machinery is left.
    private func assertLayout(_ dataDir: String, workers: Int, _ message: String) throws {
        XCTAssertEqual(try Layout.read(dataDir: dataDir), Layout(workers: workers, slots: slots), message)
        var seen: [String] = []
        for shard in 0..<workers {
            let got = try loadEntries(Reshard.shardDirectory(dataDir: dataDir, shard: shard))
            XCTAssertEqual(got.sorted(), (0..<entryCount).filter { $0 % workers == shard }.map(entry).sorted(),
                           "\(message): shard \(shard)")
            seen += got
        }
        XCTAssertEqual(seen.count, entryCount, message)
        XCTAssertEqual(directoryNames(dataDir).filter { $0.hasPrefix(".") || $0.hasPrefix("shard-") },
                       (0..<workers).map { "shard-\($0)" }.sorted(), message)
    }

    func testLayoutReadWrite() throws {
        XCTAssertNil(try Layout.read(dataDir: temp.path))
        try Layout.write(Layout(workers: 3, slots: 1024), dataDir: temp.path)
        XCTAssertEqual(String(decoding: fileBytes(temp.path + "/layout.json"), as: UTF8.self),
                       "{\"workers\": 3, \"slots\": 1024}\n")
        XCTAssertEqual(try Layout.read(dataDir: temp.path), Layout(workers: 3, slots: 1024))
        writeBytes(Array("{\"workers\": 0}".utf8), temp.path + "/layout.json")
        XCTAssertThrowsError(try Layout.read(dataDir: temp.path))
    }

    func testFullReshardUpAndDown() throws {
        let dataDir = temp.path + "/data"
        try makeData(dataDir, workers: 2)
        try Reshard.run(dataDir: dataDir, from: 2, to: 3, split: split(to: 3))
        try assertLayout(dataDir, workers: 3, "2 -> 3")
        try Reshard.run(dataDir: dataDir, from: 3, to: 1, split: split(to: 1))
        try assertLayout(dataDir, workers: 1, "3 -> 1")
    }

    func testRefusals() throws {
        let dataDir = temp.path + "/data"
        try makeData(dataDir, workers: 2)
        // Without layout.json the data's slot count is unknown, and the new layout could not state it.
        let bare = temp.path + "/bare"
        try makeData(bare, workers: 2)
        try FileManager.default.removeItem(atPath: bare + "/" + Layout.fileName)
        XCTAssertThrowsError(try Reshard.run(dataDir: bare, from: 2, to: 3, split: split(to: 3))) {
            guard case .inconsistent(let path, _) = $0 as? StoreError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, bare + "/" + Layout.fileName)
        }
        XCTAssertThrowsError(try Reshard.run(dataDir: dataDir, from: 3, to: 4, split: split(to: 4))) {
            guard case .inconsistent = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Reshard.run(dataDir: dataDir, from: 2, to: 4, split: split(to: 3))) {
            guard case .splitFailed = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        try assertLayout(dataDir, workers: 2, "unchanged after refusals")
    }

    /// Resharding deletes the old shard folders, so it refuses while one holds a side file with a
    /// corrupt journal record's bytes (found now or at an earlier startup), naming it; once the
    /// operator moved the file out, it goes on.
    func testRefusesWhileCorruptRecordsAreKeptInAShardFolder() throws {
        let dataDir = temp.path + "/data"
        try makeData(dataDir, workers: 2)
        let shard1 = Reshard.shardDirectory(dataDir: dataDir, shard: 1)
        var bytes = fileBytes(shard1 + "/journal-0.log")
        bytes[bytes.count - 1] ^= 0x01
        writeBytes(bytes, shard1 + "/journal-0.log")
        var sideFile = ""
        XCTAssertThrowsError(try Reshard.run(dataDir: dataDir, from: 2, to: 3, split: split(to: 3))) {
            guard case .inconsistent(let path, _) = $0 as? StoreError else { return XCTFail("\($0)") }
            sideFile = path
        }
        XCTAssertTrue(sideFile.hasPrefix(shard1 + "/journal-0.log.corrupt-"), sideFile)
        XCTAssertEqual(try Layout.read(dataDir: dataDir), Layout(workers: 2, slots: slots), "nothing changed")
        try FileIO.rename(from: sideFile, to: temp.path + "/inspected")
        try Reshard.run(dataDir: dataDir, from: 2, to: 3, split: split(to: 3))
        XCTAssertEqual(try Layout.read(dataDir: dataDir), Layout(workers: 3, slots: slots))
    }

    /// A crash after every step: before COMPLETE the old layout is intact, after it `recover`
    /// finishes the swap. Covers growing (2 -> 3) and shrinking (3 -> 2).
    func testCrashAfterEveryStep() throws {
        for (from, to) in [(2, 3), (3, 2)] {
            var completed = false
            var crashesBeforeCommit = 0
            var crashesAfterCommit = 0
            for stopAfter in 0..<40 {
                let dataDir = temp.path + "/crash-\(from)-\(to)-\(stopAfter)"
                try makeData(dataDir, workers: from)
                let crash = CrashPoint(after: stopAfter)
                completed = try Reshard.run(dataDir: dataDir, from: from, to: to, log: { _ in },
                                            split: split(to: to), crash: crash)
                let committed = crash.steps.contains("wrote COMPLETE")
                let message = "\(from)->\(to) crash after \(crash.steps.last ?? "start")"
                try Reshard.recover(dataDir: dataDir)
                try assertLayout(dataDir, workers: committed ? to : from, message)
                if completed { break }
                if committed { crashesAfterCommit += 1 } else { crashesBeforeCommit += 1 }
            }
            XCTAssertTrue(completed, "\(from)->\(to) finished within the step budget")
            // Staged shards + COMPLETE before; moves of old and new shards, layout and cleanup after.
            XCTAssertEqual(crashesBeforeCommit, to)
            XCTAssertEqual(crashesAfterCommit, 1 + from + to + 3)
        }
    }

    /// A crash during recovery's own finishing steps is finished by the next recovery.
    func testCrashDuringRecovery() throws {
        var completed = false
        for stopAfter in 0..<20 {
            let dataDir = temp.path + "/recover-\(stopAfter)"
            try makeData(dataDir, workers: 3)
            // The steps before the commit point are one per staged shard, then COMPLETE.
            let crash = CrashPoint(after: 2)
            XCTAssertFalse(try Reshard.run(dataDir: dataDir, from: 3, to: 2, log: { _ in }, split: split(to: 2),
                                           crash: crash))
            XCTAssertEqual(crash.steps.last, "wrote COMPLETE")
            completed = try Reshard.recover(dataDir: dataDir, log: { _ in }, crash: CrashPoint(after: stopAfter))
            try Reshard.recover(dataDir: dataDir)
            try assertLayout(dataDir, workers: 2, "recovery crashed after step \(stopAfter)")
            if completed { break }
        }
        XCTAssertTrue(completed)
    }
}
