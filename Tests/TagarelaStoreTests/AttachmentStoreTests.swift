// AttachmentStoreTests: attachment files are private, durable per policy, deduplicated, swept when unreferenced, kept by compaction, and moved by a reshard with their chats.
import Foundation
import XCTest
@testable import TagarelaStore
import TagarelaSystem
import TestSupport

final class AttachmentStoreTests: XCTestCase {
    var temp: TempDirectory!
    var dir: String { temp.path + "/shard-0" }

    override func setUp() { temp = TempDirectory(prefix: "tagarela-attach") }
    override func tearDown() { temp.remove() }

    private func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    func testPutWritesAPrivateFileOnceAndReadsItBack() throws {
        umask(0)
        defer { umask(0o022) }
        let store = try AttachmentStore(storeDirectory: dir, policy: .always)
        XCTAssertEqual(mode(store.directory), 0o700)
        XCTAssertTrue(try store.put(sha256: "ab", bytes: [1, 2, 3]))
        XCTAssertEqual(mode(store.path("ab")), 0o600)
        XCTAssertEqual(try store.read(sha256: "ab"), [1, 2, 3])
        XCTAssertNil(try store.read(sha256: "cd"))
        // Deduplicated by name (the hash): a second put writes nothing.
        XCTAssertFalse(try store.put(sha256: "ab", bytes: [1, 2, 3]))
        XCTAssertEqual(try store.stored(), ["ab"])
        XCTAssertEqual(directoryNames(store.directory), ["ab"], "no temporary file left")
    }

    func testSweepRemovesWhatNoMessageReferencesAndTemporaries() throws {
        let store = try AttachmentStore(storeDirectory: dir, policy: .interval)
        for name in ["aa", "bb", "cc"] { try store.put(sha256: name, bytes: Array(name.utf8)) }
        writeBytes([9], store.directory + "/dd.tmp")
        XCTAssertEqual(try store.sweep(keep: ["bb", "zz"]).sorted(), ["aa", "cc", "dd.tmp"])
        XCTAssertEqual(directoryNames(store.directory), ["bb"])
        XCTAssertEqual(try store.sweep(keep: ["bb"]), [])
    }

    func testCompactionKeepsTheFiles() throws {
        let opened = try ShardStore.open(directory: dir, policy: .always, log: { _ in })
        let files = try AttachmentStore(storeDirectory: dir, policy: .always)
        try files.put(sha256: "aa", bytes: [7])
        opened.store.append(Array("msg aa".utf8))
        try opened.store.commit()
        try opened.store.compact(snapshot: Array("msg aa".utf8))
        opened.store.close()
        let reopened = try ShardStore.open(directory: dir, policy: .always, log: { _ in })
        reopened.store.close()
        XCTAssertEqual(reopened.snapshot, Array("msg aa".utf8))
        XCTAssertEqual(try files.read(sha256: "aa"), [7], "a snapshot rewrite leaves the attachment folder alone")
    }

    /// A reshard links each new shard's files from whichever old shard held them; the old
    /// copies go with the old folders.
    func testReshardMovesFilesWithTheirShards() throws {
        let data = temp.path + "/data"
        try Layout.write(Layout(workers: 2, slots: 16), dataDir: data)
        for shard in 0..<2 {
            let directory = Reshard.shardDirectory(dataDir: data, shard: shard)
            let opened = try ShardStore.open(directory: directory, policy: .always, log: { _ in })
            opened.store.append(Array("s\(shard)".utf8))
            try opened.store.commit()
            opened.store.close()
            try AttachmentStore(storeDirectory: directory, policy: .always).put(sha256: "f\(shard)", bytes: [UInt8(shard)])
        }
        var logged: [String] = []
        try Reshard.run(dataDir: data, from: 2, to: 3, log: { logged.append($0) }, splitShards: { _ in
            [Reshard.NewShard(snapshot: Array("a".utf8), attachments: ["f1"]),
             Reshard.NewShard(snapshot: Array("b".utf8), attachments: []),
             Reshard.NewShard(snapshot: Array("c".utf8), attachments: ["f0", "f1", "lost"])]
        })
        let names = (0..<3).map { directoryNames(AttachmentStore.directory(ofStore: Reshard.shardDirectory(dataDir: data, shard: $0))) }
        XCTAssertEqual(names, [["f1"], [], ["f0", "f1"]])
        XCTAssertEqual(fileBytes(AttachmentStore.directory(ofStore: Reshard.shardDirectory(dataDir: data, shard: 2)) + "/f0"), [0])
        XCTAssertTrue(logged.contains { $0.contains("attachment lost") }, "\(logged)")
    }
}
