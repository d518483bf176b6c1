// PersistenceTests: journal replay and snapshots rebuild the same state; resharding keeps everything.

import TagarelaJSON
import TagarelaShard
import XCTest

final class PersistenceTests: XCTestCase {
    /// A shard with users, sessions, direct and group chats, messages, markers and member changes.
    func populated() -> EngineHarness {
        let h = EngineHarness()
        h.register("alice", "bob", "carol", "dave")
        h.login("alice")
        h.login("bob")
        let d = h.directChat("alice", "bob")
        let g = h.group("alice", ["bob", "carol"])
        for i in 0..<20 {
            h.clock.advance(ms: 3)
            h.say(["alice", "bob", "carol"][i % 3], i % 4 == 0 ? d : g, "msg \(i) \u{e9}\\n", cmid: i % 5 == 0 ? "k\(i)" : nil)
        }
        h.say("alice", d, "direct")
        h.send(#"{"type":"mark_read","chat_id":"\#(g)","seq":4}"#, as: "carol")
        h.send(#"{"type":"add_group_member","group_id":"\#(g)","user_id":"dave"}"#, as: "bob")
        h.send(#"{"type":"remove_group_member","group_id":"\#(g)","user_id":"bob"}"#, as: "alice")
        h.send(#"{"type":"get_messages","chat_id":"\#(g)","limit":5}"#, as: "dave")
        h.send(#"{"type":"logout"}"#, as: "bob")
        return h
    }

    /// Answers to a fixed set of read-only questions, to compare behaviour of two engines.
    func probe(_ e: ShardEngine) -> [String] {
        let asks: [(String, String)] = [
            ("alice", #"{"type":"get_user_chats"}"#), ("bob", #"{"type":"get_user_chats"}"#),
            ("dave", #"{"type":"get_user_chats"}"#), ("carol", #"{"type":"search_users","query":""}"#),
            ("alice", #"{"type":"get_messages","chat_id":"g:1","mark_read":false,"limit":200}"#),
            ("alice", #"{"type":"get_messages","chat_id":"d:alice:bob","mark_read":false}"#),
            ("bob", #"{"type":"get_messages","chat_id":"g:1","mark_read":false}"#),
        ]
        return asks.map { user, json in
            guard case .done(let r) = e.handle(EngineRequest(json: Array(json.utf8), userID: user)) else { return "job" }
            return String(decoding: r.response, as: UTF8.self)
        }
    }

    func testReplayFromJournalOnly() throws {
        let h = populated()
        let replayed = try ShardEngine.load(snapshot: nil, records: h.journal, config: h.config)
        XCTAssertEqual(replayed.snapshot(), h.engine.snapshot())
        XCTAssertEqual(probe(replayed), probe(h.engine))
    }

    func testSnapshotPlusTailReplay() throws {
        let h = populated()
        let snap = h.engine.snapshot()
        let mark = h.journal.count
        h.clock.advance(ms: 50)
        h.say("carol", "g:1", "after snapshot", cmid: "late")
        h.send(#"{"type":"mark_read","chat_id":"g:1","seq":100}"#, as: "dave")
        h.register("erin")
        let tail = Array(h.journal[mark...])
        XCTAssertFalse(tail.isEmpty)
        let loaded = try ShardEngine.load(snapshot: snap, records: tail, config: h.config)
        XCTAssertEqual(loaded.snapshot(), h.engine.snapshot())
        XCTAssertEqual(probe(loaded), probe(h.engine))
        // Behaviour continues identically: idempotency index and seqs survived.
        let resend = loaded.handle(EngineRequest(json: Array(#"{"type":"message","chat_id":"g:1","content":"x","client_msg_id":"late"}"#.utf8), userID: "carol"))
        guard case .done(let r) = resend else { return XCTFail("job") }
        XCTAssertTrue(r.records.isEmpty)
        XCTAssertEqual(try JSON.parse(r.response)["message"]?["content"], "after snapshot")
        let next = loaded.handle(EngineRequest(json: Array(#"{"type":"message","chat_id":"g:1","content":"y"}"#.utf8), userID: "carol"))
        guard case .done(let n) = next else { return XCTFail("job") }
        let history = h.ask(#"{"type":"get_messages","chat_id":"g:1","mark_read":false,"limit":200}"#, as: "carol")
        XCTAssertEqual(try JSON.parse(n.response)["message"]?["seq"], .int(Int64(history["messages"]!.array!.count + 1)))
    }

    func testSnapshotRoundTripIsStable() throws {
        let h = populated()
        let snap = h.engine.snapshot()
        let loaded = try ShardEngine.load(snapshot: snap, records: [], config: h.config)
        XCTAssertEqual(loaded.snapshot(), snap)
        XCTAssertNoThrow(try JSON.parse(snap))
        // Sessions survive: a token from before still authenticates.
        let token = h.login("carol")
        let again = try ShardEngine.load(snapshot: h.engine.snapshot(), records: [], config: h.config)
        guard case .done(let r) = again.handle(EngineRequest(json: Array(#"{"type":"auth","token":"\#(token)"}"#.utf8))) else { return XCTFail() }
        XCTAssertEqual(r.authUserID, "carol")
    }

    func testCorruptDataIsRefused() {
        let h = populated()
        XCTAssertThrowsError(try ShardEngine.load(snapshot: Array("{".utf8), records: [], config: h.config))
        XCTAssertThrowsError(try ShardEngine.load(snapshot: nil, records: [Array(#"{"op":"zap"}"#.utf8)], config: h.config))
        // A message record with a gap in seq is refused rather than guessed at.
        var journal = h.journal
        let firstMessage = journal.firstIndex { String(decoding: $0, as: UTF8.self).contains(#""op":"msg""#) }!
        journal.remove(at: firstMessage)
        XCTAssertThrowsError(try ShardEngine.load(snapshot: nil, records: journal, config: h.config))
    }

    func testReshardKeepsEverything() throws {
        let h = populated()
        // Toy slot function: stable, spreads the keys.
        func slot(_ key: String) -> Int { key.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 1023 } }
        let parts = ShardEngine.reshard([h.engine], into: 3, config: h.config, slotOf: slot)
        XCTAssertEqual(parts.map(\.userCount).reduce(0, +), h.engine.userCount)
        XCTAssertEqual(parts.map(\.chatCount).reduce(0, +), h.engine.chatCount)
        XCTAssertEqual(parts.map(\.messageCount).reduce(0, +), h.engine.messageCount)
        XCTAssertEqual(parts.map(\.sessionCount).reduce(0, +), h.engine.sessionCount)
        for (k, p) in parts.enumerated() {
            let snap = try JSON.parse(p.snapshot())
            for u in snap["users"]!.array! { XCTAssertEqual(slot(u["u"]!.string!) % 3, k) }
            for c in snap["chats"]!.array! { XCTAssertEqual(slot(c["c"]!.string!) % 3, k) }
            for s in snap["sessions"]!.array! { XCTAssertEqual(slot(s["u"]!.string!) % 3, k) }
        }
        // Merging the parts back into one shard gives the original state byte for byte.
        let merged = ShardEngine.reshard(parts, into: 1, config: h.config, slotOf: slot)
        XCTAssertEqual(merged[0].snapshot(), h.engine.snapshot())
        // Each chat answers the same on its new shard.
        let owner = parts[slot("g:1") % 3]
        let ask = #"{"type":"get_messages","chat_id":"g:1","mark_read":false,"limit":200}"#
        guard case .done(let a) = owner.handle(EngineRequest(json: Array(ask.utf8), userID: "alice")),
              case .done(let b) = h.engine.handle(EngineRequest(json: Array(ask.utf8), userID: "alice")) else { return XCTFail() }
        XCTAssertEqual(a.response, b.response)
        // The byte-level variant used by the store.
        let snaps = try ShardEngine.reshard(shards: [(snapshot: nil, records: h.journal)], into: 3, config: h.config, slotOf: slot)
        XCTAssertEqual(snaps, parts.map { $0.snapshot() })
    }
}
