// MessageTests: sending, idempotent resend, seq without gaps, paging, read markers, read_by/read_at and typing.

import TagarelaJSON
import TagarelaShard
import XCTest

final class MessageTests: XCTestCase {
    func setUpChat() -> (EngineHarness, String) {
        let h = EngineHarness()
        h.register("alice", "bob", "carol", "eve")
        return (h, h.group("alice", ["bob", "carol"]))
    }

    func testSendMessage() {
        let (h, g) = setUpChat()
        let r = h.send(#"{"type":"message","request_id":"m1","chat_id":"\#(g)","content":"héllo \"x\"","client_msg_id":"k1"}"#, as: "bob")
        let j = h.json(r)
        XCTAssertOK(j)
        XCTAssertEqual(j["request_id"], "m1")
        XCTAssertEqual(j["message"], ["id": "g:1/1", "chat_id": "g:1", "chat_session_id": "g:1", "seq": 1, "sender_id": "bob",
                                      "content": "héllo \"x\"", "timestamp": .int(h.clock.nowMs), "client_msg_id": "k1",
                                      "read_by": [], "read_count": 0, "read_at": nil])
        XCTAssertEqual(r.records.count, 1)
        XCTAssertEqual(r.events.count, 1)
        XCTAssertEqual(r.events[0].userIDs, ["alice", "bob", "carol"])
        let event = try! JSON.parse(r.events[0].json)
        XCTAssertEqual(event["type"], "message:new")
        XCTAssertEqual(event["payload"], j["message"])
        // The same encoded bytes sit in both.
        let resp = String(decoding: r.response, as: UTF8.self)
        let ev = String(decoding: r.events[0].json, as: UTF8.self)
        XCTAssertTrue(resp.hasSuffix(String(ev.dropFirst(#"{"type":"message:new","payload":"#.count))))
    }

    func testErrors() {
        let (h, g) = setUpChat()
        XCTAssertCode(h.ask(#"{"type":"message","chat_id":"\#(g)","content":"x"}"#, as: "eve"), "forbidden")
        XCTAssertCode(h.ask(#"{"type":"message","chat_id":"g:none","content":"x"}"#, as: "bob"), "not_found")
        XCTAssertCode(h.ask(#"{"type":"get_messages","chat_id":"\#(g)"}"#, as: "eve"), "forbidden")
        XCTAssertCode(h.ask(#"{"type":"mark_read","chat_id":"\#(g)","seq":1}"#, as: "eve"), "forbidden")
        XCTAssertCode(h.ask(#"{"type":"typing","chat_id":"\#(g)"}"#, as: "eve"), "forbidden")
        XCTAssertCode(h.ask(#"{"type":"typing","chat_id":"nope"}"#, as: "eve"), "not_found")
    }

    func testIdempotentResend() {
        let (h, g) = setUpChat()
        let first = h.json(h.say("bob", g, "a", cmid: "k"))
        h.clock.advance(ms: 5)
        let again = h.say("bob", g, "a (edited)", cmid: "k")
        XCTAssertTrue(again.records.isEmpty && again.events.isEmpty)
        XCTAssertEqual(h.json(again)["message"], first["message"])
        // The key is per sender: another sender with the same key stores a new message.
        XCTAssertEqual(h.json(h.say("carol", g, "c", cmid: "k"))["message"]?["seq"], 2)
        XCTAssertEqual(h.json(h.say("bob", g, "b", cmid: "k2"))["message"]?["seq"], 3)
    }

    func testSeqWithoutGaps() {
        let (h, g) = setUpChat()
        for i in 1...30 {
            let j = h.json(h.say(i % 2 == 0 ? "bob" : "alice", g, "m\(i)"))
            XCTAssertEqual(j["message"]?["seq"], .int(Int64(i)))
        }
        // A failed send in between does not burn a seq.
        XCTAssertCode(h.ask(#"{"type":"message","chat_id":"\#(g)","content":""}"#, as: "bob"), "bad_request")
        XCTAssertEqual(h.json(h.say("bob", g, "next"))["message"]?["seq"], 31)
    }

    func seqs(_ j: JSON) -> [Int64] { j["messages"]!.array!.compactMap { $0["seq"]?.int } }

    func testPagingModes() {
        let (h, g) = setUpChat()
        for i in 1...7 { h.say("alice", g, "m\(i)") }
        func page(_ extra: String) -> JSON {
            h.ask(#"{"type":"get_messages","chat_id":"\#(g)","mark_read":false\#(extra)}"#, as: "bob")
        }
        var p = page(#","limit":3"#)
        XCTAssertEqual(seqs(p), [5, 6, 7]); XCTAssertEqual(p["has_more"], true)
        p = page(#","limit":7"#)
        XCTAssertEqual(seqs(p), Array(1...7)); XCTAssertEqual(p["has_more"], false)
        p = page(#","before_seq":5,"limit":3"#)
        XCTAssertEqual(seqs(p), [2, 3, 4]); XCTAssertEqual(p["has_more"], true)
        p = page(#","before_seq":4,"limit":3"#)
        XCTAssertEqual(seqs(p), [1, 2, 3]); XCTAssertEqual(p["has_more"], false)
        p = page(#","before_seq":1"#)
        XCTAssertEqual(seqs(p), []); XCTAssertEqual(p["has_more"], false)
        p = page(#","before_seq":100,"limit":2"#)
        XCTAssertEqual(seqs(p), [6, 7]); XCTAssertEqual(p["has_more"], true)
        p = page(#","after_seq":0,"limit":3"#)
        XCTAssertEqual(seqs(p), [1, 2, 3]); XCTAssertEqual(p["has_more"], true)
        p = page(#","after_seq":4,"limit":3"#)
        XCTAssertEqual(seqs(p), [5, 6, 7]); XCTAssertEqual(p["has_more"], false)
        p = page(#","after_seq":7"#)
        XCTAssertEqual(seqs(p), []); XCTAssertEqual(p["has_more"], false)
        p = page("")
        XCTAssertEqual(seqs(p), Array(1...7)); XCTAssertEqual(p["has_more"], false)
    }

    func testGetMessagesMarksRead() {
        let (h, g) = setUpChat()
        for i in 1...4 { h.say("alice", g, "m\(i)") }
        h.clock.advance(ms: 100)
        let r = h.send(#"{"type":"get_messages","chat_id":"\#(g)","after_seq":0,"limit":2}"#, as: "bob")
        XCTAssertEqual(r.records.count, 1)
        let ev = h.events(r)
        XCTAssertEqual(ev.map(\.type), ["message:read"])
        XCTAssertEqual(ev[0].users, ["alice", "carol"])
        XCTAssertEqual(ev[0].payload, ["chat_id": "g:1", "user_id": "bob", "seq": 2, "read_at": .int(h.clock.nowMs)])
        // The returned messages already show bob's read.
        XCTAssertEqual(h.json(r)["messages"]?[1]?["read_by"], ["bob"])
        XCTAssertEqual(h.ask(#"{"type":"get_user_chats"}"#, as: "bob")["chats"]?[0]?["unread_count"], 2)
        // Reading an older page never moves the marker back.
        let older = h.send(#"{"type":"get_messages","chat_id":"\#(g)","before_seq":2}"#, as: "bob")
        XCTAssertTrue(older.records.isEmpty && older.events.isEmpty)
    }

    func testMarkReadForwardOnly() {
        let (h, g) = setUpChat()
        for i in 1...5 { h.say("alice", g, "m\(i)") }
        let r = h.send(#"{"type":"mark_read","request_id":"z","chat_id":"\#(g)","seq":3}"#, as: "carol")
        XCTAssertEqual(String(decoding: r.response, as: UTF8.self), #"{"type":"mark_read","request_id":"z","status":"ok"}"#)
        XCTAssertEqual(h.events(r).first?.payload["seq"], 3)
        XCTAssertEqual(h.events(r).first?.users, ["alice", "bob"])
        let back = h.send(#"{"type":"mark_read","chat_id":"\#(g)","seq":2}"#, as: "carol")
        XCTAssertOK(h.json(back))
        XCTAssertTrue(back.records.isEmpty && back.events.isEmpty)
        // Past the end counts as the last message.
        let far = h.send(#"{"type":"mark_read","chat_id":"\#(g)","seq":99}"#, as: "carol")
        XCTAssertEqual(h.events(far).first?.payload["seq"], 5)
        XCTAssertEqual(h.ask(#"{"type":"get_user_chats"}"#, as: "carol")["chats"]?[0]?["unread_count"], 0)
    }

    func testReadByAndReadAt() {
        let (h, g) = setUpChat()
        let t0 = h.clock.nowMs
        h.say("alice", g, "one")
        h.say("alice", g, "two")
        h.clock.advance(ms: 10)
        h.send(#"{"type":"mark_read","chat_id":"\#(g)","seq":1}"#, as: "bob")
        h.clock.advance(ms: 10)
        h.send(#"{"type":"mark_read","chat_id":"\#(g)","seq":2}"#, as: "carol")
        h.clock.advance(ms: 10)
        h.send(#"{"type":"mark_read","chat_id":"\#(g)","seq":2}"#, as: "bob")
        // Bob replying moves his marker too.
        h.clock.advance(ms: 10)
        h.say("bob", g, "three")
        let msgs = h.ask(#"{"type":"get_messages","chat_id":"\#(g)","mark_read":false}"#, as: "alice")["messages"]!
        XCTAssertEqual(msgs[0]?["read_by"], ["bob", "carol"])
        XCTAssertEqual(msgs[0]?["read_at"], .int(t0 + 10))
        XCTAssertEqual(msgs[1]?["read_by"], ["bob", "carol"])
        XCTAssertEqual(msgs[1]?["read_at"], .int(t0 + 20))
        XCTAssertEqual(msgs[2]?["read_by"], [])
        XCTAssertEqual(msgs[2]?["read_at"], .null)
    }

    func testSenderMarkerMoves() {
        let (h, g) = setUpChat()
        h.say("alice", g, "a")
        h.say("bob", g, "b")
        // Bob's send moved his marker past alice's message.
        let chats = h.ask(#"{"type":"get_user_chats"}"#, as: "bob")["chats"]!
        XCTAssertEqual(chats[0]?["unread_count"], 0)
        XCTAssertEqual(h.ask(#"{"type":"get_user_chats"}"#, as: "alice")["chats"]?[0]?["unread_count"], 1)
    }

    func testTyping() {
        let (h, g) = setUpChat()
        let r = h.send(#"{"type":"typing","chat_id":"\#(g)"}"#, as: "bob")
        XCTAssertOK(h.json(r))
        XCTAssertTrue(r.records.isEmpty)
        XCTAssertEqual(h.events(r).map(\.type), ["chat:typing"])
        XCTAssertEqual(h.events(r)[0].users, ["alice", "carol"])
        XCTAssertEqual(h.events(r)[0].payload, ["chat_id": "g:1", "user_id": "bob"])
    }
}
