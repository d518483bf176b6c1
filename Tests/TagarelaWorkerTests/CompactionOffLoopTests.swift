// CompactionOffLoopTests: the worker's loop keeps answering while a compaction's snapshot is being written (issue 9).
import Foundation
import TestSupport
@testable import TagarelaWorker
import XCTest

final class CompactionOffLoopTests: XCTestCase {
    /// The snapshot thread is held inside serialisation; the loop must answer requests all the
    /// while (when the loop itself wrote the snapshot, it sat in the hook and the requests timed
    /// out). Once released, the compaction finishes: the new snapshot replaces the old journal.
    func testTheLoopServesWhileTheSnapshotIsWritten() throws {
        let serialising = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        // Whatever happens, no snapshot thread stays held (a stop waits for the one in flight).
        defer { for _ in 0..<100 { gate.signal() } }
        let held: () -> Void = {
            serialising.signal()
            // Bounded, so a loop that wrongly runs this cannot hang the test for ever.
            _ = gate.wait(timeout: .now() + 20)
        }
        // Every commit passes one byte: the first request's records start a compaction.
        try withWorker({ $0.compactJournalBytes = 1 }, prepare: { $0.snapshotWillSerialise = held }) { path in
            let store = (path as NSString).deletingLastPathComponent + "/shard-0"
            let client = try LinkTestClient(path: path)
            defer { client.close() }
            let (created, _) = try client.request(#"{"type":"create_group","group_name":"g","member_ids":[]}"#,
                                                  user: "alice", arg: "g:1")
            XCTAssertEqual(created["status"], "ok")
            XCTAssertEqual(serialising.wait(timeout: .now() + 10), .success, "a compaction began")
            for k in 1...3 {
                let (sent, _) = try client.request(#"{"type":"message","chat_id":"g:1","content":"m\#(k)"}"#, user: "alice")
                XCTAssertEqual(sent["message"]?["seq"]?.int, Int64(k), "answered while the snapshot is being written")
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: store + "/journal-0.log"), "not finished yet")
            XCTAssertFalse(FileManager.default.fileExists(atPath: store + "/snapshot.json"))
            gate.signal()
            // Later commits start further compactions; let them through too.
            let deadline = Date().addingTimeInterval(10)
            while FileManager.default.fileExists(atPath: store + "/journal-0.log") && Date() < deadline {
                gate.signal()
                usleep(10_000)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: store + "/journal-0.log"), "the compaction finished")
            XCTAssertTrue(FileManager.default.fileExists(atPath: store + "/snapshot.json"))
            let (page, _) = try client.request(#"{"type":"get_messages","chat_id":"g:1"}"#, user: "alice")
            XCTAssertEqual(page["messages"]?.array?.count, 3)
        }
    }
}
