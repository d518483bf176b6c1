// CompactionTests: compaction works, and a crash after any of its steps loads with nothing lost.
import XCTest
@testable import TagarelaStore
import TestSupport

final class CompactionTests: XCTestCase {
    var temp: TempDirectory!

    override func setUp() { temp = TempDirectory(prefix: "tagarela-compact") }
    override func tearDown() { temp.remove() }

    func testCompactionStartsAFreshJournal() throws {
        let dir = temp.path + "/s"
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        for i in 0..<5 { store.append(record(i)) }
        try store.commit()
        store.append(record(5))  // not yet committed: compaction commits it to the old journal first
        try store.compact(snapshot: snapshotBytes(strings((0..<6).map(record))))
        XCTAssertEqual(store.generation, 1)
        XCTAssertEqual(store.journalBytes, 0)
        XCTAssertEqual(directoryNames(dir), ["journal-1.log", "snapshot.json"])
        store.append(record(6))
        try store.commit()
        store.close()
        let opened = try ShardStore.open(directory: dir, policy: .always, log: { _ in })
        XCTAssertEqual(opened.store.generation, 1)
        XCTAssertEqual(strings(opened.records), strings([record(6)]))
        XCTAssertEqual(entries(snapshot: opened.snapshot, records: opened.records), strings((0..<7).map(record)))
        opened.store.close()
    }

    /// Stops compaction after each of its steps, as a crash would, then restarts: the loaded
    /// state always equals everything committed, and the store keeps working afterwards.
    func testCrashAfterEveryStepLosesNothing() throws {
        var completed = false
        var stepsSeen: [String] = []
        for stopAfter in 0..<20 {
            let dir = temp.path + "/crash-\(stopAfter)"
            // Start at generation 1 so a stale older journal and a non-empty snapshot both exist.
            let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
            for i in 0..<3 { store.append(record(i)) }
            try store.commit()
            try store.compact(snapshot: snapshotBytes(strings((0..<3).map(record))))
            for i in 3..<6 { store.append(record(i)) }
            try store.commit()
            let all = strings((0..<6).map(record))

            let crash = CrashPoint(after: stopAfter)
            completed = try store.compact(snapshot: snapshotBytes(all), crash: crash)
            stepsSeen = crash.steps
            if !completed { store.close() }

            XCTAssertEqual(try loadEntries(dir), all, "crash after \(crash.steps.last ?? "start")")
            let reopened = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
            let names = directoryNames(dir)
            XCTAssertFalse(names.contains("snapshot.tmp"))
            XCTAssertEqual(names.filter { $0.hasPrefix("journal-") }, ["journal-\(reopened.generation).log"],
                           "only the snapshot's journal remains after recovery")
            reopened.append(record(6))
            try reopened.commit()
            reopened.close()
            XCTAssertEqual(try loadEntries(dir), all + strings([record(6)]), "after crash at step \(stopAfter)")
            if completed { break }
        }
        XCTAssertTrue(completed, "compaction finished within the step budget")
        XCTAssertEqual(stepsSeen.count, 6, "\(stepsSeen)")
    }

    /// A half-written snapshot.tmp from an interrupted compaction is ignored and removed.
    func testPartialTemporarySnapshotIsIgnored() throws {
        let dir = temp.path + "/tmp"
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        store.append(record(1))
        try store.commit()
        store.close()
        writeBytes(Array("{\"format\":1,\"generation\":1,\"len".utf8), dir + "/snapshot.tmp")
        var logs: [String] = []
        let opened = try ShardStore.open(directory: dir, policy: .always, log: { logs.append($0) })
        opened.store.close()
        XCTAssertEqual(opened.records, [record(1)])
        XCTAssertNil(opened.snapshot)
        XCTAssertFalse(fileExists(dir + "/snapshot.tmp"))
        XCTAssertEqual(logs.count, 1)
    }
}
