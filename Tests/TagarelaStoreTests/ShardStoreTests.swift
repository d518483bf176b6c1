// ShardStoreTests: append/commit/reopen, fsync policies, torn tails at every offset, mid-journal damage.
import XCTest
@testable import TagarelaStore
import TestSupport

final class ShardStoreTests: XCTestCase {
    var temp: TempDirectory!
    var dir: String { temp.path + "/shard-0" }
    var journal0: String { dir + "/journal-0.log" }

    override func setUp() { temp = TempDirectory(prefix: "tagarela-store") }
    override func tearDown() { temp.remove() }

    /// Appends records 0..<count to a new journal, the last one in a commit of its own, and closes
    /// the store; returns the offset where that last record starts (the tail the test damages).
    private func writeJournal(records count: Int) throws -> Int {
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        for i in 0..<(count - 1) { store.append(record(i)) }
        try store.commit()
        let lastStart = store.journalBytes
        store.append(record(count - 1))
        try store.commit()
        store.close()
        return lastStart
    }

    func testASystemCallFailureIsATypedErrorNamingTheFile() throws {
        // A file where the store's folder should be: the system layer's failure reaches the
        // caller as StoreError.io naming the file it was reading, with the call and its errno.
        writeBytes([], dir)
        XCTAssertThrowsError(try ShardStore.open(directory: dir, policy: .always, log: { _ in })) { error in
            guard case .io(let op, let path, let code) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "open")
            XCTAssertEqual(path, dir + "/snapshot.json")
            XCTAssertEqual(code, 20, "ENOTDIR")
            XCTAssertEqual("\(error)", "open \(dir)/snapshot.json: errno 20 (Not a directory)")
        }
    }

    func testRoundTripAcrossReopen() throws {
        var (store, snapshot, records) = try ShardStore.open(directory: dir, policy: .always, log: { _ in })
        XCTAssertNil(snapshot)
        XCTAssertEqual(records, [])
        for i in 0..<10 { store.append(record(i)) }
        XCTAssertEqual(store.journalBytes, 0, "append makes no syscall")
        try store.commit()
        store.append(record(10))
        try store.commit()
        XCTAssertEqual(store.journalBytes, fileBytes(journal0).count)
        store.close()
        (store, snapshot, records) = try ShardStore.open(directory: dir, policy: .always, log: { _ in })
        XCTAssertNil(snapshot)
        XCTAssertEqual(records, (0...10).map(record))
        store.append(record(11))
        try store.commit()
        store.close()
        XCTAssertEqual(try loadEntries(dir), strings((0...11).map(record)))
    }

    /// One write per commit whatever the batch size; syncs exactly as each policy says.
    func testEveryFsyncPolicy() throws {
        for policy in FsyncPolicy.allCases {
            let directory = temp.path + "/\(policy.rawValue)"
            let store = try ShardStore.open(directory: directory, policy: policy, log: { _ in }).store
            try store.commit()
            XCTAssertEqual(store.writeCalls, 0, "an empty commit makes no syscall")
            for turn in 0..<3 {
                for i in 0..<5 { store.append(record(turn * 5 + i)) }
                try store.commit()
            }
            XCTAssertEqual(store.writeCalls, 3)
            XCTAssertEqual(store.syncCalls, policy == .always ? 3 : 0, "\(policy)")
            try store.sync()
            try store.sync()
            XCTAssertEqual(store.syncCalls, [.always: 3, .interval: 1, .never: 0][policy], "\(policy)")
            store.close()
            XCTAssertThrowsError(try store.commit()) { XCTAssertEqual($0 as? StoreError, .unusable) }
            XCTAssertEqual(try loadEntries(directory), strings((0..<15).map(record)), "\(policy)")
        }
    }

    /// Cut the journal at every byte offset inside its last record: recovery keeps exactly the
    /// complete records, truncates the file to them, logs it, and new appends follow cleanly.
    func testTornTailAtEveryOffset() throws {
        let lastStart = try writeJournal(records: 5)
        let full = fileBytes(journal0)
        for cut in lastStart..<full.count {
            writeBytes(Array(full[..<cut]), journal0)
            var logs: [String] = []
            let opened = try ShardStore.open(directory: dir, policy: .always, log: { logs.append($0) })
            XCTAssertEqual(opened.records, (0..<4).map(record), "cut at \(cut)")
            XCTAssertEqual(fileBytes(journal0).count, lastStart, "file truncated, cut at \(cut)")
            XCTAssertEqual(logs.count, cut == lastStart ? 0 : 1, "cut at \(cut)")
            XCTAssertTrue(logs.allSatisfy { $0.contains("warning: cut a torn tail") }, "\(logs)")
            XCTAssertEqual(opened.store.corruptRecordFiles, [], "a torn tail is not kept aside, cut at \(cut)")
            opened.store.append(record(99))
            try opened.store.commit()
            opened.store.close()
            XCTAssertEqual(try loadEntries(dir), strings((0..<4).map(record) + [record(99)]))
        }
    }

    /// A file extended with zeros by a crash (size updated, data never written) is a torn tail.
    func testZeroFilledTailIsCut() throws {
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        for i in 0..<3 { store.append(record(i)) }
        try store.commit()
        store.close()
        let good = fileBytes(journal0)
        writeBytes(good + [UInt8](repeating: 0, count: 4096), journal0)
        XCTAssertEqual(try loadEntries(dir), strings((0..<3).map(record)))
        XCTAssertEqual(fileBytes(journal0), good)
    }

    /// A complete last record with a bad checksum, nothing valid after it, is cut like a torn tail
    /// (the next record reuses its place), but its bytes are kept first in a 0600 side file named
    /// after the journal and the offset, it is logged as an error and counted.
    func testBadChecksumInLastRecordIsCutAndKeptAside() throws {
        let lastStart = try writeJournal(records: 4)
        var bytes = fileBytes(journal0)
        bytes[bytes.count - 1] ^= 0x01
        writeBytes(bytes, journal0)
        let oldMask = umask(0)
        defer { umask(oldMask) }
        var logs: [String] = []
        let opened = try ShardStore.open(directory: dir, policy: .always, log: { logs.append($0) })
        XCTAssertEqual(opened.records, (0..<3).map(record))
        XCTAssertEqual(fileBytes(journal0).count, lastStart)
        XCTAssertEqual(opened.store.corruptRecordFiles.count, 1)
        let side = opened.store.corruptRecordFiles.first ?? ""
        XCTAssertTrue(side.hasPrefix("journal-0.log.corrupt-\(lastStart)-"), side)
        XCTAssertEqual(fileBytes(dir + "/" + side), Array(bytes[lastStart...]), "the side file holds exactly the cut bytes")
        var info = stat()
        XCTAssertEqual(stat(dir + "/" + side, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600, "private whatever the umask")
        XCTAssertEqual(logs.count, 1)
        XCTAssertTrue(logs[0].contains("error") && logs[0].contains(side) && logs[0].contains("offset \(lastStart)"), "\(logs)")
        opened.store.append(record(9))
        try opened.store.commit()
        opened.store.close()
        // Reopened: the record that took the cut one's place loads; the side file is still counted.
        let again = try ShardStore.open(directory: dir, policy: .always, log: { _ in })
        XCTAssertEqual(again.records, (0..<3).map(record) + [record(9)])
        XCTAssertEqual(again.store.corruptRecordFiles, [side])
        again.store.close()
        XCTAssertEqual(CorruptRecordFile.name(journal: "journal-7.log", offset: 42, time: 1_795_728_122),
                       "journal-7.log.corrupt-42-20261126T212202Z")
    }

    /// Damage followed by valid records stops startup with the file and the damaged record's offset.
    func testMiddleDamageRefusesNamingFileAndOffset() throws {
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        var starts: [Int] = []
        for i in 0..<5 {
            starts.append(store.journalBytes)
            store.append(record(i))
            try store.commit()
        }
        store.close()
        let good = fileBytes(journal0)
        // A flipped payload byte, a flipped checksum byte, and corrupted lengths (too long, zero, huge).
        let damages: [(String, Int, (inout [UInt8]) -> Void)] = [
            ("payload", 2, { $0[starts[2] + 10] ^= 0x40 }),
            ("checksum", 1, { $0[starts[1] + 5] ^= 0x01 }),
            ("length+1", 2, { $0[starts[2] + 3] &+= 1 }),
            ("length 0", 3, { $0[starts[3] + 3] = 0 }),
            ("length huge", 0, { $0[starts[0]] = 0xff }),
        ]
        for (name, index, damage) in damages {
            var bytes = good
            damage(&bytes)
            writeBytes(bytes, journal0)
            XCTAssertThrowsError(try ShardStore.open(directory: dir, policy: .always, log: { _ in }), name) { error in
                guard case .corruptJournal(let file, let offset, _) = error as? StoreError else {
                    return XCTFail("\(name): unexpected \(error)")
                }
                XCTAssertEqual(file, journal0, name)
                XCTAssertEqual(offset, starts[index], name)
                XCTAssertTrue("\(error)".contains("journal-0.log") && "\(error)".contains("offset \(starts[index])"), name)
            }
            XCTAssertEqual(fileBytes(journal0), bytes, "\(name): a refused journal is left untouched")
        }
    }

    func testCorruptSnapshotRefuses() throws {
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        try store.compact(snapshot: snapshotBytes(["a", "b"]))
        store.close()
        var bytes = fileBytes(dir + "/snapshot.json")
        bytes[bytes.count - 4] ^= 0x20
        writeBytes(bytes, dir + "/snapshot.json")
        XCTAssertThrowsError(try ShardStore.open(directory: dir, policy: .always, log: { _ in })) { error in
            guard case .corruptSnapshot(let file, _) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, dir + "/snapshot.json")
        }
        writeBytes(Array(bytes.prefix(20)), dir + "/snapshot.json")
        XCTAssertThrowsError(try ShardStore.open(directory: dir, policy: .always, log: { _ in }))
    }

    func testSnapshotEnvelopeFormat() throws {
        let body = Array(#"{"users":[]}"#.utf8)
        let text = String(decoding: SnapshotFile(generation: 7, body: body).encoded(), as: UTF8.self)
        XCTAssertEqual(text, "{\"format\":1,\"generation\":7,\"length\":12,\"crc32c\":\(CRC32C.checksum(body)),"
                       + "\"snapshot\":{\"users\":[]}}\n")
        let decoded = try SnapshotFile.decode(Array(text.utf8), file: "x")
        XCTAssertEqual(decoded.generation, 7)
        XCTAssertEqual(decoded.body, body)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(text.utf8)), "the envelope is JSON")
    }

    /// Journals after the snapshot's are consecutive under the compaction protocol (one per
    /// compaction begun): a gap cannot come from it, so refuse.
    func testJournalAfterAGapRefuses() throws {
        let store = try ShardStore.open(directory: dir, policy: .always, log: { _ in }).store
        store.close()
        writeBytes([], dir + "/journal-2.log")
        XCTAssertThrowsError(try ShardStore.open(directory: dir, policy: .always, log: { _ in })) { error in
            guard case .inconsistent(let path, _) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, dir + "/journal-2.log")
        }
    }
}
