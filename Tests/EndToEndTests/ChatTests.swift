// ChatTests: create_chat, create_group, member changes and get_user_chats (PROTOCOL.md 2.2) over both transports, members on different shards.
import Foundation
import TestSupport
import XCTest

final class ChatTests: EndToEndTestCase {
    func testDirectChatOverWebSocket() throws { try directChat(.webSocket, "dcw") }
    func testDirectChatOverNDJSON() throws { try directChat(.ndjson, "dct") }
    func testGroupAcrossThreeShardsOverWebSocket() throws { try groupAcrossThreeShards(.webSocket, "grw") }
    func testGroupAcrossThreeShardsOverNDJSON() throws { try groupAcrossThreeShards(.ndjson, "grt") }
    func testUserChatsMergedNewestFirstOverWebSocket() throws { try userChatsMergedNewestFirst(.webSocket, "ucw") }
    func testUserChatsMergedNewestFirstOverNDJSON() throws { try userChatsMergedNewestFirst(.ndjson, "uct") }

    private func directChat(_ kind: E2ETransportKind, _ prefix: String) throws {
        let pair = users(prefix, onWorkers: [0, 1])
        let a = pair[0], b = pair[1]
        let ca = try registeredClient(a, kind)
        let cb = try registeredClient(b, kind)

        let created = assertOK(try ca.request("create_chat", [("user_id", .string(b.name))]), "create_chat")
        let chat = created["chat"]
        let chatID = chat?["id"]?.string ?? ""
        assertChat(chat, kind: "direct", name: nil, members: [a.name, b.name], unread: 0)
        XCTAssertEqual(chatID, "d:" + [a.name, b.name].sorted().joined(separator: ":"), "PROTOCOL.md 3.1")
        XCTAssertEqual(chat?["last_message"], .null, "\(created)")

        let announced = try cb.event("chat:new")
        assertChat(announced["payload"], id: chatID, kind: "direct", name: nil, members: [a.name, b.name], unread: 0)
        XCTAssertNil(announced["status"], "\(announced)")
        try assertNoEvent(ca, "chat:new", "the creator gets the response, not chat:new")

        // Idempotent from either side.
        let again = assertOK(try ca.request("create_chat", [("user_id", .string(b.name))]), "create_chat")
        assertChat(again["chat"], id: chatID, kind: "direct", name: nil, members: [a.name, b.name])
        let reverse = assertOK(try cb.request("create_chat", [("user_id", .string(a.name))]), "create_chat")
        assertChat(reverse["chat"], id: chatID, kind: "direct", name: nil, members: [a.name, b.name])

        // Both can write; the chat's history is shared.
        let m1 = try ca.sendMessage(chatID, "oi")
        assertMessage(m1, chat: chatID, seq: 1, sender: a.name, content: "oi")
        let m2 = try cb.sendMessage(chatID, "olá")
        assertMessage(m2, chat: chatID, seq: 2, sender: b.name, content: "olá")
        let again2 = assertOK(try ca.request("create_chat", [("user_id", .string(b.name))]), "create_chat")
        XCTAssertEqual(again2["chat"]?["last_message"]?["id"], m2["id"], "\(again2)")

        assertError(try ca.request("create_chat", [("user_id", .string(prefix + "ghost"))]), "create_chat", "not_found")
        assertError(try ca.request("create_chat", [("user_id", .string(a.name))]), "create_chat", "bad_request")
        assertError(try ca.request("create_chat", []), "create_chat", "bad_request")
        assertError(try ca.request("create_chat", [("user_id", 7)]), "create_chat", "bad_request")
    }

    private func groupAcrossThreeShards(_ kind: E2ETransportKind, _ prefix: String) throws {
        let people = users(prefix, onWorkers: [0, 1, 2, 1, 2])
        let (u0, u1, u2, u3, outsider) = (people[0], people[1], people[2], people[3], people[4])
        let c0 = try registeredClient(u0, kind), c1 = try registeredClient(u1, kind)
        let c2 = try registeredClient(u2, kind), c3 = try registeredClient(u3, kind)
        let cOut = try registeredClient(outsider, kind)

        let created = assertOK(try c0.request("create_group", [("group_name", "Três ✓"),
                                                               ("member_ids", .strings([u1.name, u2.name]))]), "create_group")
        let groupID = created["chat"]?["id"]?.string ?? ""
        let trio = [u0.name, u1.name, u2.name]
        assertChat(created["chat"], kind: "group", name: "Três ✓", members: trio, unread: 0)
        assertGroupID(groupID)
        for c in [c1, c2] {
            let event = try c.event("chat:new") { $0["payload"]?["id"]?.string == groupID }
            assertChat(event["payload"], id: groupID, kind: "group", name: "Três ✓", members: trio, unread: 0)
        }
        try assertNoEvent(c0, "chat:new", "the creator gets the response only")

        // Every member receives every message, whoever sends it.
        var seq = 0
        for (sender, client) in [(u0, c0), (u1, c1), (u2, c2)] {
            seq += 1
            let message = try client.sendMessage(groupID, "from \(sender.name)")
            assertMessage(message, chat: groupID, seq: seq, sender: sender.name, content: "from \(sender.name)")
            for other in [c0, c1, c2] where other !== client {
                let event = try other.event("message:new") { $0["payload"]?["id"] == message["id"] }
                XCTAssertEqual(event["payload"], message, "\(other.label) got the stored message")
            }
        }

        // Any member may add; the added member gets chat:new, the others chat:updated.
        let four = trio + [u3.name]
        let added = assertOK(try c1.request("add_group_member", [("group_id", .string(groupID)), ("user_id", .string(u3.name))]),
                             "add_group_member")
        assertChat(added["chat"], id: groupID, kind: "group", name: "Três ✓", members: four)
        let welcome = try c3.event("chat:new") { $0["payload"]?["id"]?.string == groupID }
        assertChat(welcome["payload"], id: groupID, kind: "group", name: "Três ✓", members: four)
        for c in [c0, c2] {
            let update = try c.event("chat:updated") { $0["payload"]?["id"]?.string == groupID }
            assertChat(update["payload"], id: groupID, kind: "group", name: "Três ✓", members: four)
        }
        try assertNoEvent(c1, "chat:updated", "the member who added gets the response only")

        // Adding a member again succeeds and changes nothing (PROTOCOL.md 3.3).
        let readded = assertOK(try c0.request("add_group_member", [("group_id", .string(groupID)), ("user_id", .string(u3.name))]),
                               "add_group_member")
        assertChat(readded["chat"], id: groupID, kind: "group", name: "Três ✓", members: four)

        let fromU3 = try c3.sendMessage(groupID, "cheguei")
        assertMessage(fromU3, chat: groupID, seq: 4, sender: u3.name, content: "cheguei")
        for c in [c0, c1, c2] {
            let event = try c.event("message:new") { $0["payload"]?["id"] == fromU3["id"] }
            XCTAssertEqual(event["payload"], fromU3)
        }

        // Outsiders may not read, write or add.
        let g: (String, E2EJSON) = ("group_id", .string(groupID)), chatField: (String, E2EJSON) = ("chat_id", .string(groupID))
        assertError(try cOut.request("add_group_member", [g, ("user_id", .string(outsider.name))]), "add_group_member", "forbidden")
        assertError(try cOut.request("message", [chatField, ("content", "let me in")]), "message", "forbidden")
        assertError(try cOut.request("get_messages", [chatField]), "get_messages", "forbidden")
        assertError(try cOut.request("mark_read", [chatField, ("seq", 1)]), "mark_read", "forbidden")
        assertError(try cOut.request("typing", [chatField]), "typing", "forbidden")

        // Only the creator removes others.
        assertError(try c1.request("remove_group_member", [g, ("user_id", .string(u2.name))]), "remove_group_member", "forbidden")
        let removed = assertOK(try c0.request("remove_group_member", [g, ("user_id", .string(u3.name))]), "remove_group_member")
        assertChat(removed["chat"], id: groupID, kind: "group", name: "Três ✓", members: trio)
        for c in [c1, c2, c3] {
            let update = try c.event("chat:updated") { $0["payload"]?["id"]?.string == groupID }
            assertChat(update["payload"], id: groupID, kind: "group", name: "Três ✓", members: trio)
        }
        assertError(try c3.request("message", [chatField, ("content", "still here?")]), "message", "forbidden")

        // Any member may leave.
        let left = assertOK(try c2.request("remove_group_member", [g, ("user_id", .string(u2.name))]), "remove_group_member")
        assertChat(left["chat"], id: groupID, kind: "group", name: "Três ✓", members: [u0.name, u1.name])
        for c in [c0, c1] {
            let update = try c.event("chat:updated") { $0["payload"]?["id"]?.string == groupID
                && $0["payload"]?["member_ids"]?.array?.count == 2 }
            assertChat(update["payload"], id: groupID, kind: "group", name: "Três ✓", members: [u0.name, u1.name])
        }
        try assertNoEvent(c2, "chat:updated", "the leaver gets the response only (PROTOCOL.md 3.3)")
        assertError(try c2.request("get_messages", [chatField]), "get_messages", "forbidden")

        // Direct chats have no member changes; unknown ids are not_found.
        let direct = assertOK(try c0.request("create_chat", [("user_id", .string(u1.name))]), "create_chat")
        let directID = E2EJSON.string(direct["chat"]?["id"]?.string ?? "")
        assertError(try c0.request("add_group_member", [("group_id", directID), ("user_id", .string(u2.name))]),
                    "add_group_member", "bad_request")
        assertError(try c0.request("remove_group_member", [("group_id", directID), ("user_id", .string(u1.name))]),
                    "remove_group_member", "bad_request")
        assertError(try c0.request("add_group_member", [("group_id", .string(prefix + "-no-such-group")), ("user_id", .string(u2.name))]),
                    "add_group_member", "not_found")
        assertError(try c0.request("add_group_member", [g, ("user_id", .string(prefix + "ghost"))]), "add_group_member", "not_found")
        assertError(try c0.request("create_group", [("group_name", "x"), ("member_ids", .strings([prefix + "ghost"]))]),
                    "create_group", "not_found")
        assertError(try c0.request("create_group", [("group_name", ""), ("member_ids", .strings([u1.name]))]),
                    "create_group", "bad_request")
        assertError(try c0.request("create_group", [("group_name", .string(String(repeating: "n", count: 101))),
                                                    ("member_ids", .strings([u1.name]))]), "create_group", "bad_request")
        let tooMany = (0...100).map { "\(prefix)m\($0)" }
        assertError(try c0.request("create_group", [("group_name", "big"), ("member_ids", .strings(tooMany))]),
                    "create_group", "bad_request")
    }

    private func userChatsMergedNewestFirst(_ kind: E2ETransportKind, _ prefix: String) throws {
        let people = users(prefix, onWorkers: [2, 0, 1])
        let (me, p1, p2) = (people[0], people[1], people[2])
        let cm = try registeredClient(me, kind), c1 = try registeredClient(p1, kind), c2 = try registeredClient(p2, kind)

        let direct = assertOK(try cm.request("create_chat", [("user_id", .string(p1.name))]), "create_chat")
        let directID = direct["chat"]?["id"]?.string ?? ""
        // Groups with random ids: make them until the chats sit on every worker (bounded).
        var groupIDs: [String] = []
        var covered: Set<Int> = [worker(of: directID)]
        while covered.count < workers || groupIDs.count < 2 {
            guard groupIDs.count < 24 else { return XCTFail("24 random group ids never covered \(workers) workers") }
            let g = assertOK(try cm.request("create_group", [("group_name", .string("g\(groupIDs.count)")),
                                                             ("member_ids", .strings([p1.name, p2.name]))]), "create_group")
            let id = g["chat"]?["id"]?.string ?? ""
            groupIDs.append(id)
            covered.insert(worker(of: id))
        }

        // Activity order: first group, then the direct chat (three messages from p1), then the other groups.
        let order = [groupIDs[0], directID] + groupIDs.dropFirst()
        var lastTimestamp = 0
        var lastMessage: [String: E2EJSON] = [:]
        for chatID in order {
            let count = chatID == directID ? 3 : 1
            for i in 0..<count {
                waitForWallClock(after: lastTimestamp)
                let sender = chatID == directID ? c1 : cm
                let message = try sender.sendMessage(chatID, "m\(i) in \(chatID)")
                lastTimestamp = message["timestamp"]?.int ?? 0
                lastMessage[chatID] = message
            }
        }

        let mine = assertOK(try cm.request("get_user_chats"), "get_user_chats")
        let chats = mine["chats"]?.array ?? []
        XCTAssertEqual(chats.compactMap { $0["id"]?.string }, order.reversed(), "newest activity first: \(mine)")
        for chat in chats {
            let id = chat["id"]?.string ?? ""
            XCTAssertEqual(chat["last_message"]?["id"], lastMessage[id]?["id"], "\(chat)")
            XCTAssertEqual(chat["last_message"]?["seq"], lastMessage[id]?["seq"], "\(chat)")
            XCTAssertEqual(chat["last_message"]?["content"], lastMessage[id]?["content"], "\(chat)")
            XCTAssertEqual(chat["unread_count"]?.int, id == directID ? 3 : 0, "own messages are never unread: \(chat)")
            if id == directID {
                assertChat(chat, id: id, kind: "direct", name: nil, members: [me.name, p1.name])
            } else {
                let index = groupIDs.firstIndex(of: id) ?? -1
                assertChat(chat, id: id, kind: "group", name: "g\(index)", members: [me.name, p1.name, p2.name])
            }
        }

        let theirs = assertOK(try c1.request("get_user_chats"), "get_user_chats")
        let theirChats = theirs["chats"]?.array ?? []
        XCTAssertEqual(theirChats.compactMap { $0["id"]?.string }, order.reversed(), "\(theirs)")
        for chat in theirChats {
            XCTAssertEqual(chat["unread_count"]?.int, chat["id"]?.string == directID ? 0 : 1, "unread is per reader: \(chat)")
        }
        let p2Chats = assertOK(try c2.request("get_user_chats"), "get_user_chats")["chats"]?.array ?? []
        XCTAssertEqual(p2Chats.compactMap { $0["id"]?.string }, Array(groupIDs.reversed()), "p2 is in the groups only")

        // Reading clears the unread count; new activity moves a chat to the front.
        assertOK(try cm.request("get_messages", [("chat_id", .string(directID))]), "get_messages")
        waitForWallClock(after: lastTimestamp)
        _ = try c2.sendMessage(groupIDs[0], "bump")
        let after = assertOK(try cm.request("get_user_chats"), "get_user_chats")["chats"]?.array ?? []
        XCTAssertEqual(after.first?["id"]?.string, groupIDs[0], "the bumped chat leads")
        XCTAssertEqual(after.first?["unread_count"]?.int, 1)
        XCTAssertEqual(after.first { $0["id"]?.string == directID }?["unread_count"]?.int, 0, "read by get_messages")
    }
}
