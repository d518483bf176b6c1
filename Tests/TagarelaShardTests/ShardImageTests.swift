// ShardImageTests: an image of the engine is a value: later requests do not reach it, and it serialises to the snapshot of its instant.
import TagarelaJSON
import TagarelaModel
@testable import TagarelaShard
import TestSupport
import XCTest

final class ShardImageTests: XCTestCase {
    /// The snapshot thread serialises an image while the loop goes on changing the engine: the
    /// image must keep the state of its instant, across a chunk boundary of a chat's history,
    /// new chats, members and read markers alike.
    func testAnImageIsNotChangedByLaterRequests() throws {
        let h = EngineHarness()
        h.owns = { _ in false }  // users of other shards: no registration needed
        XCTAssertEqual(h.ask(#"{"type":"create_group","group_name":"g","member_ids":["bob"]}"#, as: "alice", arg: "g:1")["status"], "ok")
        let first = MessageLog.chunkCount - 2
        for k in 0..<first { h.send(#"{"type":"message","chat_id":"g:1","content":"m\#(k)"}"#, as: "alice") }
        XCTAssertEqual(h.engine.messageCount, first)
        let before = h.engine.snapshot()
        let image = h.engine.image()
        for k in 0..<5 { h.send(#"{"type":"message","chat_id":"g:1","content":"n\#(k)"}"#, as: "bob") }
        h.send(#"{"type":"mark_read","chat_id":"g:1","seq":\#(first + 3)}"#, as: "alice")
        h.send(#"{"type":"add_group_member","group_id":"g:1","user_id":"carol"}"#, as: "alice")
        h.send(#"{"type":"create_group","group_name":"h","member_ids":[]}"#, as: "bob", arg: "g:2")
        XCTAssertEqual(image.serialised(), before, "the image kept its instant")
        XCTAssertNotEqual(h.engine.snapshot(), before)

        let loaded = try ShardEngine.load(snapshot: h.engine.image().serialised(), records: [], config: h.config)
        XCTAssertEqual(loaded.snapshot(), h.engine.snapshot(), "a history of more than one chunk round-trips")
        XCTAssertEqual(loaded.messageCount, first + 5)
    }

    func testMessageLogIndexesAcrossChunks() {
        var log = MessageLog()
        let total = MessageLog.chunkCount * 2 + 3
        for k in 1...total {
            log.append(Message(chatID: "c", seq: Int64(k), senderID: "s", content: "x", timestamp: 0, clientMsgID: nil))
        }
        var copy = log
        copy.append(Message(chatID: "c", seq: Int64(total + 1), senderID: "s", content: "x", timestamp: 0, clientMsgID: nil))
        XCTAssertEqual(log.count, total)
        XCTAssertEqual(copy.count, total + 1)
        XCTAssertEqual(log.map(\.seq), (1...Int64(total)).map { $0 })
        XCTAssertEqual(log.last?.seq, Int64(total))
        XCTAssertEqual(log[MessageLog.chunkCount].seq, Int64(MessageLog.chunkCount + 1))
    }
}
