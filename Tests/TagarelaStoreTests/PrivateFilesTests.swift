// PrivateFilesTests: every folder the store makes is 0700 and every file 0600 under any umask, and looser modes left by an older version are tightened at open.
import Glibc
import XCTest
@testable import TagarelaStore
import TagarelaSystem
import TestSupport

final class PrivateFilesTests: XCTestCase {
    var temp: TempDirectory!
    private var savedUmask: mode_t = 0

    override func setUp() {
        temp = TempDirectory(prefix: "tagarela-private")
        // The reproduction: an operator's shell with `umask 000`. Restored in tearDown
        // (XCTest runs one test at a time, and nothing else in this process creates files meanwhile).
        savedUmask = umask(0)
    }

    override func tearDown() {
        umask(savedUmask)
        temp.remove()
    }

    private func mode(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> mode_t {
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0, "stat \(path)", file: file, line: line)
        return info.st_mode & 0o7777
    }

    /// Every entry under `root` (and `root` itself): folders 0700, files 0600.
    private func assertPrivateTree(_ root: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(String(mode(root), radix: 8), "700", root, file: file, line: line)
        for name in directoryNames(root) {
            let path = root + "/" + name
            if FileTree.isDirectory(path) {
                assertPrivateTree(path, file: file, line: line)
            } else {
                XCTAssertEqual(String(mode(path), radix: 8), "600", path, file: file, line: line)
            }
        }
    }

    func testStoreLayoutAndReshardCreatePrivateFilesUnderUmaskZero() throws {
        let data = temp.file("data")
        try Layout.write(Layout(workers: 1, slots: 1024), dataDir: data)
        let shard = Reshard.shardDirectory(dataDir: data, shard: 0)
        let store = try ShardStore.open(directory: shard, policy: .always, log: { _ in }).store
        store.append(record(1))
        try store.commit()
        // Compaction writes snapshot.tmp, renames it and starts journal-1.log.
        try store.compact(snapshot: snapshotBytes(["k1=v1"]))
        store.append(record(2))
        try store.commit()
        store.close()
        assertPrivateTree(data)

        // A reshard stages new shards and a COMPLETE marker, then swaps them in.
        try Reshard.run(dataDir: data, from: 1, to: 2) { old in
            let all = old.flatMap { entries(snapshot: $0.snapshot, records: $0.records) }
            return [snapshotBytes(all), snapshotBytes([])]
        }
        XCTAssertEqual(try Layout.read(dataDir: data)?.workers, 2)
        assertPrivateTree(data)
    }

    func testOpenTightensLooserModesLeftByAnOlderVersionAndSaysSo() throws {
        // What an older version made: 0755 folders, 0644 files.
        let shard = temp.file("shard-0")
        XCTAssertEqual(mkdir(shard, 0o755), 0)
        let journal = shard + "/journal-0.log"
        var bytes: [UInt8] = []
        JournalFormat.append(record(1), to: &bytes)
        writeBytes(bytes, journal)
        XCTAssertEqual(chmod(journal, 0o644), 0)
        XCTAssertEqual(String(mode(shard), radix: 8), "755")

        var lines: [String] = []
        let opened = try ShardStore.open(directory: shard, policy: .always, log: { lines.append($0) })
        opened.store.close()
        XCTAssertEqual(strings(opened.records), strings([record(1)]), "the data is untouched")
        assertPrivateTree(shard)
        XCTAssertTrue(lines.contains { $0.contains("tightened") && $0.contains("journal-0.log") }, "\(lines)")

        // Already private: nothing to say the second time.
        lines = []
        _ = try loadEntries(shard, log: { lines.append($0) })
        XCTAssertFalse(lines.contains { $0.contains("tightened") }, "\(lines)")
    }


    func testMakePrivateTightensATreeButLeavesSymlinkTargetsAlone() throws {
        let outside = temp.file("outside")
        writeBytes([1], outside)
        XCTAssertEqual(chmod(outside, 0o644), 0)
        let data = temp.file("data")
        XCTAssertEqual(mkdir(data, 0o777), 0)
        XCTAssertEqual(mkdir(data + "/run", 0o777), 0)
        writeBytes([2], data + "/run/gateway.log")
        XCTAssertEqual(chmod(data + "/run/gateway.log", 0o666), 0)
        XCTAssertEqual(symlink(outside, data + "/link"), 0)

        var lines: [String] = []
        try PrivateFiles.makePrivate(data, recursive: true, log: { lines.append($0) })
        XCTAssertEqual(String(mode(data), radix: 8), "700")
        XCTAssertEqual(String(mode(data + "/run"), radix: 8), "700")
        XCTAssertEqual(String(mode(data + "/run/gateway.log"), radix: 8), "600")
        XCTAssertEqual(String(mode(outside), radix: 8), "644", "a symlink's target is not ours to change")
        XCTAssertEqual(lines.count, 1, "one line per tightening: \(lines)")

        // Not recursive: only the folder itself.
        XCTAssertEqual(chmod(data, 0o755), 0)
        XCTAssertEqual(chmod(data + "/run", 0o755), 0)
        try PrivateFiles.makePrivate(data, recursive: false, log: { _ in })
        XCTAssertEqual(String(mode(data), radix: 8), "700")
        XCTAssertEqual(String(mode(data + "/run"), radix: 8), "755")
    }

}
