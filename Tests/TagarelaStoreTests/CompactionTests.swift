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
    /// state always equals everything committed, and the store keeps working afterwards. The
    /// loop keeps committing records between the steps, as it does while the snapshot thread
    /// writes: they go to the next journal, and load after the old snapshot and old journal.
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
            let imaged = strings((0..<6).map(record))
            var committed = imaged

            let crash = CrashPoint(after: stopAfter)
            completed = try runCompaction(store, image: imaged, crash: crash) { next in
                store.append(record(next))
                try store.commit()
                committed.append(strings([record(next)])[0])
            }
            stepsSeen = crash.steps
            if !completed { store.close() }

            XCTAssertEqual(try loadEntries(dir), committed, "crash after \(crash.steps.last ?? "start")")
            let reopened = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
            let names = directoryNames(dir)
            XCTAssertFalse(names.contains("snapshot.tmp"))
            let journals = names.filter { $0.hasPrefix("journal-") }
            XCTAssertEqual(journals.first, "journal-\(reopened.generation).log", "older journals are deleted at recovery")
            XCTAssertEqual(journals.last, "journal-\(reopened.journalGeneration).log")
            reopened.append(record(99))
            try reopened.commit()
            // The next compaction after a crash covers every journal left, however many.
            try reopened.compact(snapshot: snapshotBytes(committed + strings([record(99)])))
            XCTAssertEqual(directoryNames(dir), ["journal-\(reopened.generation).log", "snapshot.json"])
            reopened.close()
            XCTAssertEqual(try loadEntries(dir), committed + strings([record(99)]), "after crash at step \(stopAfter)")
            if completed { break }
        }
        XCTAssertTrue(completed, "compaction finished within the step budget")
        XCTAssertEqual(stepsSeen, ["created journal-2.log", "wrote snapshot.tmp", "renamed to snapshot.json",
                                   "fsynced directory", "removed journal-1.log"])
    }

    /// One compaction the way the worker runs it, with `serve` called between its steps as the
    /// loop would serve requests (given the next record number); false when `crash` stopped it.
    private func runCompaction(_ store: ShardStore, image: [String], crash: CrashPoint,
                               serve: (Int) throws -> Void) throws -> Bool {
        var next = 6
        func serveOne() throws { try serve(next); next += 1 }
        try serveOne()  // appended before the compaction begins: committed to the old journal
        guard let compaction = try store.beginCompaction(crash: crash) else { return false }
        try serveOne()
        XCTAssertEqual(store.journalGeneration, compaction.generation, "the loop appends to the new journal")
        let imageBytes = snapshotBytes(image + strings([record(6)]))
        guard try compaction.writeSnapshot(imageBytes, crash: crash) else { return false }
        try serveOne()
        guard try store.finishCompaction(compaction, crash: crash) else { return false }
        try serveOne()
        return true
    }

    /// A crash while the snapshot is written leaves journal-(G+1) beside snapshot G and
    /// journal-G: a restart replays both, in order (before compaction moved off the loop such a
    /// pair could not exist and was refused).
    func testTheNextGenerationsJournalIsReplayedAfterTheSnapshotsJournal() throws {
        let dir = temp.path + "/pair"
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        store.append(record(0))
        try store.commit()
        try store.compact(snapshot: snapshotBytes(strings([record(0)])))
        store.append(record(1))
        try store.commit()
        store.close()
        var next: [UInt8] = []
        for i in 2..<4 { JournalFormat.append(record(i), to: &next) }
        writeBytes(next, dir + "/journal-2.log")
        let opened = try ShardStore.open(directory: dir, policy: .always, log: { _ in })
        XCTAssertEqual(entries(snapshot: opened.snapshot, records: opened.records), strings((0..<4).map(record)))
        XCTAssertEqual(opened.store.generation, 1)
        opened.store.append(record(4))
        try opened.store.commit()
        opened.store.close()
        XCTAssertEqual(try loadEntries(dir), strings((0..<5).map(record)), "appends go to the newest journal")
        XCTAssertEqual(directoryNames(dir), ["journal-1.log", "journal-2.log", "snapshot.json"])
    }

    /// A journal that a newer one follows was synced whole before the newer one was created:
    /// damage in it cannot be a torn write, and recovery refuses it rather than cut records
    /// from the middle of the history.
    func testDamageInAJournalThatANewerOneFollowsRefuses() throws {
        let dir = temp.path + "/damaged"
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        for i in 0..<2 { store.append(record(i)) }
        try store.commit()
        _ = try store.beginCompaction()
        store.append(record(2))
        try store.commit()
        store.close()
        let old = dir + "/journal-0.log"
        writeBytes(Array(fileBytes(old).dropLast(3)), old)
        XCTAssertThrowsError(try ShardStore.open(directory: dir, policy: .always, log: { _ in })) { error in
            guard case .corruptJournal(let file, _, _) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, old)
        }
    }

    /// The snapshot thread: `writeInBackground` serialises and writes while the caller goes on
    /// committing records, and the compaction finishes on the caller's thread.
    func testSnapshotWrittenOnItsOwnThreadWhileRecordsAreCommitted() throws {
        let dir = temp.path + "/background"
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        store.append(record(0))
        let compaction = try store.beginCompaction()
        let serialising = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let ended = DispatchSemaphore(value: 0)
        // Written by the snapshot thread before `ended` is signalled, read after the wait.
        let seen = SeenOnThread()
        // Stands for the engine's image: nothing may keep it once the thread is done with it.
        var image: ImageStandIn? = ImageStandIn()
        weak let imageLeft = image
        compaction.writeInBackground(serialise: { [image] in
            _ = image
            seen.onCallersThread = Thread.isMainThread  // XCTest runs the test on the main thread
            serialising.signal()
            _ = gate.wait(timeout: .now() + 10)
            return snapshotBytes(strings([record(0)]))
        }, done: { seen.outcome = $0; ended.signal() })
        image = nil
        XCTAssertEqual(serialising.wait(timeout: .now() + 10), .success)
        store.append(record(1))
        try store.commit()  // the snapshot is still being serialised
        XCTAssertFalse(compaction.isWritten)
        gate.signal()
        XCTAssertEqual(ended.wait(timeout: .now() + 10), .success)
        compaction.join()
        XCTAssertFalse(seen.onCallersThread)
        let deadline = Date().addingTimeInterval(10)
        while imageLeft != nil && Date() < deadline { usleep(1000) }
        XCTAssertNil(imageLeft, "the image is released when the snapshot thread ends, while the compaction lives on")
        try XCTUnwrap(seen.outcome).get()
        try store.finishCompaction(compaction)
        store.close()
        XCTAssertEqual(directoryNames(dir), ["journal-1.log", "snapshot.json"])
        XCTAssertEqual(try loadEntries(dir), strings([record(0), record(1)]))
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

private final class ImageStandIn: @unchecked Sendable {}

private final class SeenOnThread: @unchecked Sendable {
    var onCallersThread = true
    var outcome: Result<Void, StoreError>?
}
