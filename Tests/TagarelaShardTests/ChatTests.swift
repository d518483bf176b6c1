// ChatTests: direct chats, groups, member changes, authorization and the chat events they push.

import TagarelaJSON
import TagarelaShard
import XCTest

final class ChatTests: XCTestCase {
    func setUpUsers() -> EngineHarness {
        let h = EngineHarness()
        h.register("alice", "bob", "carol", "dave")
        return h
    }

    func testCreateDirectChatIsIdempotent() {
        let h = setUpUsers()
        let r = h.send(#"{"type":"create_chat","request_id":"c1","user_id":"Bob"}"#, as: "alice")
        let j = h.json(r)
        XCTAssertOK(j)
        XCTAssertEqual(j["chat"], ["id": "d:alice:bob", "kind": "direct", "name": nil, "member_ids": ["alice", "bob"],
                                   "created_at": .int(h.clock.nowMs), "last_message": nil, "unread_count": 0])
        XCTAssertEqual(r.records.count, 1)
        let ev = h.events(r)
        XCTAssertEqual(ev.count, 1)
        XCTAssertEqual(ev[0].type, "chat:new")
        XCTAssertEqual(ev[0].users, ["bob"])
        XCTAssertEqual(ev[0].payload["id"], "d:alice:bob")

        let again = h.send(#"{"type":"create_chat","user_id":"alice"}"#, as: "bob")
        XCTAssertEqual(h.json(again)["chat"]?["id"], "d:alice:bob")
        XCTAssertTrue(again.records.isEmpty && again.events.isEmpty)
        XCTAssertEqual(h.engine.chatCount, 1)
    }

    func testCreateDirectChatErrors() {
        let h = setUpUsers()
        XCTAssertCode(h.ask(#"{"type":"create_chat","user_id":"alice"}"#, as: "alice"), "bad_request")
        XCTAssertCode(h.ask(#"{"type":"create_chat","user_id":"ghost"}"#, as: "alice"), "not_found")
        XCTAssertCode(h.ask(#"{"type":"create_chat","user_id":"no such"}"#, as: "alice"), "not_found")
        // A user of another shard is trusted: the gateway checked it with users_exist.
        h.owns = { $0 != "remote" }
        XCTAssertOK(h.ask(#"{"type":"create_chat","user_id":"remote"}"#, as: "alice"))
    }

    func testCreateGroup() {
        let h = setUpUsers()
        let r = h.send(#"{"type":"create_group","group_name":"Team","member_ids":["bob","carol","alice","bob"]}"#, as: "alice", arg: "g:abc")
        let chat = h.json(r)["chat"]!
        XCTAssertEqual(chat["id"], "g:abc")
        XCTAssertEqual(chat["kind"], "group")
        XCTAssertEqual(chat["name"], "Team")
        XCTAssertEqual(chat["member_ids"], ["alice", "bob", "carol"])
        let ev = h.events(r)
        XCTAssertEqual(ev.map(\.type), ["chat:new"])
        XCTAssertEqual(ev[0].users, ["bob", "carol"])
        XCTAssertCode(h.ask(#"{"type":"create_group","group_name":"T","member_ids":[]}"#, as: "bob", arg: "g:abc"), "conflict")
        XCTAssertCode(h.ask(#"{"type":"create_group","group_name":"T","member_ids":["ghost"]}"#, as: "bob", arg: "g:2"), "not_found")
        // Without a gateway-minted id the engine mints one.
        let own = h.ask(#"{"type":"create_group","group_name":"Solo","member_ids":[]}"#, as: "dave")
        XCTAssertTrue(own["chat"]!["id"]!.string!.hasPrefix("g:"))
    }

    func testAddMember() {
        let h = setUpUsers()
        let g = h.group("alice", ["bob", "carol"])
        h.say("alice", g, "one")
        XCTAssertCode(h.ask(#"{"type":"add_group_member","group_id":"\#(g)","user_id":"dave"}"#, as: "dave"), "forbidden")
        XCTAssertCode(h.ask(#"{"type":"add_group_member","group_id":"g:none","user_id":"dave"}"#, as: "bob"), "not_found")
        XCTAssertCode(h.ask(#"{"type":"add_group_member","group_id":"\#(g)","user_id":"ghost"}"#, as: "bob"), "not_found")
        let r = h.send(#"{"type":"add_group_member","group_id":"\#(g)","user_id":"dave"}"#, as: "bob")
        XCTAssertEqual(h.json(r)["chat"]?["member_ids"], ["alice", "bob", "carol", "dave"])
        let ev = h.events(r)
        XCTAssertEqual(ev[0].type, "chat:new")
        XCTAssertEqual(ev[0].users, ["dave"])
        XCTAssertEqual(ev[0].payload["unread_count"], 1)
        let updated = ev.dropFirst()
        XCTAssertEqual(Set(updated.map(\.type)), ["chat:updated"])
        XCTAssertEqual(Set(updated.flatMap(\.users)), ["alice", "carol"])
        // alice sent the message (read), carol has not read it: two encodings.
        for e in updated { XCTAssertEqual(e.payload["unread_count"], e.users == ["alice"] ? 0 : 1) }
        let again = h.send(#"{"type":"add_group_member","group_id":"\#(g)","user_id":"dave"}"#, as: "bob")
        XCTAssertOK(h.json(again))
        XCTAssertTrue(again.records.isEmpty && again.events.isEmpty)
    }

    func testDirectChatsHaveNoMemberChanges() {
        let h = setUpUsers()
        let d = h.directChat("alice", "bob")
        XCTAssertCode(h.ask(#"{"type":"add_group_member","group_id":"\#(d)","user_id":"carol"}"#, as: "alice"), "bad_request")
        XCTAssertCode(h.ask(#"{"type":"remove_group_member","group_id":"\#(d)","user_id":"bob"}"#, as: "alice"), "bad_request")
    }

    func testRemoveAndLeave() {
        let h = setUpUsers()
        let g = h.group("alice", ["bob", "carol", "dave"])
        XCTAssertCode(h.ask(#"{"type":"remove_group_member","group_id":"\#(g)","user_id":"carol"}"#, as: "bob"), "forbidden")
        let r = h.send(#"{"type":"remove_group_member","group_id":"\#(g)","user_id":"carol"}"#, as: "alice")
        XCTAssertEqual(h.json(r)["chat"]?["member_ids"], ["alice", "bob", "dave"])
        let ev = h.events(r)
        XCTAssertEqual(ev.map(\.type), ["chat:updated", "chat:updated"])
        XCTAssertEqual(ev[0].users, ["bob", "dave"])
        XCTAssertEqual(ev[1].users, ["carol"])
        XCTAssertEqual(ev[1].payload["member_ids"], ["alice", "bob", "dave"])
        XCTAssertCode(h.ask(#"{"type":"message","chat_id":"\#(g)","content":"hi"}"#, as: "carol"), "forbidden")
        XCTAssertCode(h.ask(#"{"type":"remove_group_member","group_id":"\#(g)","user_id":"carol"}"#, as: "alice"), "not_found")

        let leave = h.send(#"{"type":"remove_group_member","group_id":"\#(g)","user_id":"bob"}"#, as: "bob")
        XCTAssertEqual(h.json(leave)["chat"]?["member_ids"], ["alice", "dave"])
        XCTAssertEqual(h.events(leave).map(\.users), [["alice", "dave"]])
        XCTAssertEqual(h.ask(#"{"type":"get_user_chats"}"#, as: "bob")["chats"], [])
    }

    func testGetUserChatsOrderAndUnread() {
        let h = setUpUsers()
        let d1 = h.directChat("alice", "bob")
        h.clock.advance(ms: 10)
        let d2 = h.directChat("alice", "carol")
        h.clock.advance(ms: 10)
        let g = h.group("dave", ["alice"])
        h.clock.advance(ms: 10)
        h.say("bob", d1, "hi")
        h.say("bob", d1, "again")
        let r = h.ask(#"{"type":"get_user_chats","request_id":"u"}"#, as: "alice")
        XCTAssertEqual(r["request_id"], "u")
        let chats = r["chats"]!.array!
        XCTAssertEqual(chats.compactMap { $0["id"]?.string }, [d1, g, d2])
        XCTAssertEqual(chats[0]["unread_count"], 2)
        XCTAssertEqual(chats[0]["last_message"]?["content"], "again")
        XCTAssertEqual(chats[1]["last_message"], .null)
        XCTAssertEqual(h.ask(#"{"type":"get_user_chats"}"#, as: "bob")["chats"]?[0]?["unread_count"], 0)
        let internalPart = h.ask(#"{"type":"user_chats","user_id":"alice"}"#, isInternal: true)
        XCTAssertEqual(internalPart["chats"]?.array?.count, 3)
    }
}
