// BoundedOutputTests: get_user_chats pages, read_by's cap, the per-user chat limits and leave_group (issue 8, PROTOCOL.md 3.6).

import Foundation
import TagarelaJSON
import TagarelaModel
import TagarelaShard
import XCTest

final class BoundedOutputTests: XCTestCase {
    /// `n` groups of alice with bob; every third pair shares a millisecond, so ties by id count.
    func aliceWithGroups(_ n: Int, _ h: EngineHarness) -> [String] {
        var ids: [String] = []
        for k in 0..<n {
            if k % 3 != 0 { h.clock.advance(ms: 1) }
            ids.append(h.group("alice", ["bob"], id: String(format: "g:%03d", (k * 7) % n)))
            if k % 4 == 0 { h.say("bob", ids.last!, "m\(k)") }
        }
        return ids
    }

    func page(_ h: EngineHarness, limit: Int?, cursor: String?, as user: String = "alice") -> JSON {
        var fields = ""
        if let limit = limit { fields += #","limit":\#(limit)"# }
        if let cursor = cursor { fields += #","cursor":"\#(cursor)""# }
        return h.ask(#"{"type":"get_user_chats"\#(fields)}"#, as: user)
    }

    func testUserChatsPagesFollowOneOrderAndEnd() {
        let h = EngineHarness()
        h.register("alice", "bob")
        let ids = aliceWithGroups(47, h)
        let whole = page(h, limit: 50, cursor: nil)
        XCTAssertEqual(whole["has_more"], false)
        XCTAssertEqual(whole["next_cursor"], .null)
        let order = whole["chats"]!.array!.map { c -> (Int64, String) in
            (c["last_message"]?["timestamp"]?.int ?? c["created_at"]!.int!, c["id"]!.string!)
        }
        XCTAssertEqual(Set(order.map(\.1)), Set(ids))
        for k in order.indices.dropFirst() {
            XCTAssertTrue(order[k - 1].0 > order[k].0 || (order[k - 1].0 == order[k].0 && order[k - 1].1 < order[k].1),
                          "newest activity first, ties by id: \(order[k - 1]) \(order[k])")
        }
        XCTAssertEqual(page(h, limit: nil, cursor: nil)["chats"]?.array?.count, 20, "the default page")

        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            let p = page(h, limit: 5, cursor: cursor)
            XCTAssertOK(p)
            let items = p["chats"]!.array!.map { $0["id"]!.string! }
            XCTAssertLessThanOrEqual(items.count, 5)
            seen += items
            cursor = p["has_more"] == true ? p["next_cursor"]?.string : nil
            if p["has_more"] == true { XCTAssertNotNil(cursor) }
        } while cursor != nil && seen.count <= ids.count
        XCTAssertEqual(seen, order.map(\.1), "the pages are the whole list, in order, once")

        // The gateway's internal part takes the same fields.
        let part = h.ask(#"{"type":"user_chats","user_id":"alice","limit":2}"#, isInternal: true)
        XCTAssertEqual(part["chats"]?.array?.map { $0["id"]!.string! }, Array(order.map(\.1).prefix(2)))
        XCTAssertEqual(part["has_more"], true)

        XCTAssertCode(page(h, limit: 51, cursor: nil), "bad_request")
        XCTAssertCode(page(h, limit: 0, cursor: nil), "bad_request")
        XCTAssertCode(page(h, limit: nil, cursor: "soon"), "bad_request")
        XCTAssertCode(page(h, limit: nil, cursor: "12 "), "bad_request")
        let empty = page(h, limit: nil, cursor: nil, as: "carol")
        XCTAssertEqual(empty["chats"], [])
        XCTAssertEqual(empty["has_more"], false)
    }

    func testReadByListsAtMostTwentyAndCountsAll() {
        let h = EngineHarness()
        let others = (0..<30).map { String(format: "user%02d", $0) }
        for name in ["alice"] + others { h.register(name) }
        let g = h.group("alice", others)
        h.say("alice", g, "hello all")
        for name in others {
            h.clock.advance(ms: 1)
            XCTAssertOK(h.ask(#"{"type":"mark_read","chat_id":"\#(g)","seq":1}"#, as: name))
        }
        let m = h.ask(#"{"type":"get_messages","chat_id":"\#(g)"}"#, as: "alice")["messages"]![0]!
        XCTAssertEqual(m["read_by"]?.array?.compactMap { $0.string }, Array(others.prefix(FieldLimits.readByIDsMax)), "the first readers in member order")
        XCTAssertEqual(m["read_count"], 30)
        XCTAssertEqual(m["read_at"]?.int, h.clock.nowMs - 29, "the earliest reader's time")
        let chat = h.ask(#"{"type":"get_user_chats"}"#, as: "alice")["chats"]![0]!
        XCTAssertEqual(chat["last_message"]?["read_by"]?.array?.count, 20, "the chat object's last message too")
        XCTAssertEqual(chat["last_message"]?["read_count"], 30)
    }

    func testGroupMembersLimit() {
        let h = EngineHarness { $0.groupMembersMax = 3 }
        h.register("alice", "bob", "carol", "dave")
        let full = h.ask(#"{"type":"create_group","group_name":"G","member_ids":["bob","carol","dave"]}"#, as: "alice", arg: "g:1")
        XCTAssertCode(full, "limit_reached")
        XCTAssertEqual(full["limit"], "group_members")
        let g = h.group("alice", ["bob", "carol"], id: "g:2")
        let add = h.ask(#"{"type":"add_group_member","group_id":"\#(g)","user_id":"dave"}"#, as: "alice")
        XCTAssertCode(add, "limit_reached")
        XCTAssertEqual(add["limit"], "group_members")
        XCTAssertOK(h.ask(#"{"type":"leave_group","group_id":"\#(g)"}"#, as: "carol"))
        XCTAssertOK(h.ask(#"{"type":"add_group_member","group_id":"\#(g)","user_id":"dave"}"#, as: "alice"))
    }

    /// Others can fill only their share of a user's chats; the rest stays the user's own.
    func testOthersCannotFillAUsersChats() {
        let h = EngineHarness { $0.chatsPerUserMax = 4; $0.chatsAddedByOthersPerUserMax = 2 }
        h.register("alice", "bob", "carol", "dave", "erin")
        h.group("bob", ["alice"], id: "g:b1")
        h.group("carol", ["alice"], id: "g:c1")
        let third = h.ask(#"{"type":"create_group","group_name":"G","member_ids":["alice","erin"]}"#, as: "dave", arg: "g:d1")
        XCTAssertCode(third, "limit_reached")
        XCTAssertEqual(third["limit"], "chats_added_by_others")
        XCTAssertTrue(third["message"]?.string?.contains("alice") ?? false, "\(third)")
        XCTAssertEqual(h.ask(#"{"type":"get_user_chats"}"#, as: "erin")["chats"], [], "nothing was created")
        XCTAssertEqual(h.ask(#"{"type":"create_chat","user_id":"alice"}"#, as: "dave")["limit"], "chats_added_by_others")
        let g = h.group("dave", ["erin"], id: "g:d2")
        XCTAssertEqual(h.ask(#"{"type":"add_group_member","group_id":"\#(g)","user_id":"alice"}"#, as: "dave")["limit"],
                       "chats_added_by_others")

        // Alice's own chats still fit, up to her total.
        h.group("alice", ["bob"], id: "g:a1")
        XCTAssertOK(h.ask(#"{"type":"create_chat","user_id":"erin"}"#, as: "alice"))
        let over = h.ask(#"{"type":"create_group","group_name":"G","member_ids":[]}"#, as: "alice", arg: "g:a2")
        XCTAssertCode(over, "limit_reached")
        XCTAssertEqual(over["limit"], "chats_per_user")

        // Leaving makes room.
        XCTAssertOK(h.ask(#"{"type":"leave_group","group_id":"g:b1"}"#, as: "alice"))
        XCTAssertOK(h.ask(#"{"type":"create_group","group_name":"G","member_ids":[]}"#, as: "alice", arg: "g:a2"))
        // Full again: others are told so by the total.
        XCTAssertEqual(h.ask(#"{"type":"create_chat","user_id":"alice"}"#, as: "bob")["limit"], "chats_per_user")
    }

    /// Issue 8 review: `scale` to fewer shards merges shards, and with them the chats others put
    /// a user into, past their share on the merged shard; that excess must not lock the user
    /// out of chats of their own.
    func testChatsOthersAddedPastTheirShareAfterAMergeLeaveRoomForTheUsersOwn() throws {
        let wide = EngineHarness { $0.chatsPerUserMax = 100; $0.chatsAddedByOthersPerUserMax = 100 }
        wide.register("alice", "bob")
        for k in 0..<4 { wide.group("bob", ["alice"], id: "g:b\(k)") }
        // The same records on a shard with the usual shares: 4 chats by others against 2.
        var config = wide.config
        config.chatsPerUserMax = 4
        config.chatsAddedByOthersPerUserMax = 2
        let h = EngineHarness { $0.chatsPerUserMax = 4; $0.chatsAddedByOthersPerUserMax = 2 }
        h.engine = try ShardEngine.load(snapshot: nil, records: wide.journal, config: config)
        XCTAssertOK(h.ask(#"{"type":"create_group","group_name":"G","member_ids":[]}"#, as: "alice", arg: "g:a1"))
        XCTAssertOK(h.ask(#"{"type":"create_group","group_name":"G","member_ids":[]}"#, as: "alice", arg: "g:a2"))
        let over = h.ask(#"{"type":"create_group","group_name":"G","member_ids":[]}"#, as: "alice", arg: "g:a3")
        XCTAssertEqual(over["limit"], "chats_per_user", "others' excess counts as their share only")
    }

    func testLeaveGroup() {
        let h = EngineHarness()
        h.register("alice", "bob", "carol")
        let g = h.group("alice", ["bob", "carol"])
        h.say("alice", g, "hi")
        let r = h.send(#"{"type":"leave_group","request_id":"l","group_id":"\#(g)"}"#, as: "bob")
        let j = h.json(r)
        XCTAssertOK(j)
        XCTAssertEqual(j["type"], "leave_group")
        XCTAssertEqual(j["request_id"], "l")
        XCTAssertEqual(j["chat"]?["member_ids"], ["alice", "carol"])
        XCTAssertEqual(j["chat"]?["unread_count"], 0)
        let ev = h.events(r)
        // One chat:updated per distinct unread count (alice 0, carol 1), as for a member removed (PROTOCOL.md 2.2).
        XCTAssertEqual(Set(ev.map(\.type)), ["chat:updated"])
        XCTAssertEqual(Set(ev.flatMap(\.users)), ["alice", "carol"])
        XCTAssertEqual(ev[0].payload["member_ids"], ["alice", "carol"])
        XCTAssertEqual(h.ask(#"{"type":"get_user_chats"}"#, as: "bob")["chats"], [])
        XCTAssertCode(h.ask(#"{"type":"leave_group","group_id":"\#(g)"}"#, as: "bob"), "forbidden")
        XCTAssertCode(h.ask(#"{"type":"leave_group","group_id":"g:none"}"#, as: "bob"), "not_found")
        XCTAssertCode(h.ask(#"{"type":"leave_group","group_id":"\#(h.directChat("alice", "bob"))"}"#, as: "bob"), "bad_request")
        XCTAssertCode(h.ask(#"{"type":"leave_group"}"#, as: "bob"), "bad_request")
    }
}
