// MessageTests: message fan-out and idempotency, get_messages paging, mark_read, typing and get_presence (PROTOCOL.md 2.3-2.4) over both transports.
import Foundation
import TestSupport
import XCTest

final class MessageTests: EndToEndTestCase {
    func testMessageFanOutAndIdempotencyOverWebSocket() throws { try messageFanOut(.webSocket, "mfw") }
    func testMessageFanOutAndIdempotencyOverNDJSON() throws { try messageFanOut(.ndjson, "mft") }
    func testMessageFanOutAndIdempotencyOverCBOR() throws { try messageFanOut(.cbor, "mfc") }
    func testGetMessagesPagingOverWebSocket() throws { try paging(.webSocket, "pgw") }
    func testGetMessagesPagingOverNDJSON() throws { try paging(.ndjson, "pgt") }
    func testMarkReadAndReadByOverWebSocket() throws { try markRead(.webSocket, "mrw") }
    func testMarkReadAndReadByOverNDJSON() throws { try markRead(.ndjson, "mrt") }
    func testTypingAndPresenceOverWebSocket() throws { try typingAndPresence(.webSocket, "tpw") }
    func testTypingAndPresenceOverNDJSON() throws { try typingAndPresence(.ndjson, "tpt") }

    /// Creates a direct chat from `a` to `b` and swallows the chat:new `b`'s connections get.
    private func directChat(_ ca: E2EChatClient, with b: String) throws -> String {
        let reply = assertOK(try ca.request("create_chat", [("user_id", .string(b))]), "create_chat")
        return reply["chat"]?["id"]?.string ?? ""
    }

    private func messageFanOut(_ kind: E2ETransportKind, _ prefix: String) throws {
        let pair = users(prefix, onWorkers: [0, 2])
        let (s, r) = (pair[0], pair[1])
        let s1 = try registeredClient(s, kind, label: "s1"), s2 = try loggedInClient(s, kind, label: "s2")
        let r1 = try registeredClient(r, kind, label: "r1"), r2 = try loggedInClient(r, kind, label: "r2")
        let chatID = try directChat(s1, with: r.name)

        let m1 = try s1.sendMessage(chatID, "hello", clientMsgID: "cm-1")
        assertMessage(m1, chat: chatID, seq: 1, sender: s.name, content: "hello", clientMsgID: "cm-1")
        XCTAssertEqual(m1["read_by"], .array([]), "\(m1)")
        XCTAssertEqual(m1["read_at"], .null, "\(m1)")
        // Every connection of every member, the sender's other one included; not the sending one.
        for c in [s2, r1, r2] {
            let event = try c.event("message:new") { $0["payload"]?["id"] == m1["id"] }
            XCTAssertEqual(event["payload"], m1, "\(c.label)")
            XCTAssertNil(event["status"])
        }
        try assertNoEvent(s1, "message:new", "the sending connection gets the response instead")

        // The same client_msg_id from the same sender returns the first message and delivers nothing.
        let retry = try s1.sendMessage(chatID, "hello (retry)", clientMsgID: "cm-1")
        XCTAssertEqual(retry["id"], m1["id"], "\(retry)")
        assertMessage(retry, chat: chatID, seq: 1, sender: s.name, content: "hello", clientMsgID: "cm-1")
        XCTAssertEqual(retry["timestamp"], m1["timestamp"])
        let retryElsewhere = try s2.sendMessage(chatID, "hello", clientMsgID: "cm-1")
        XCTAssertEqual(retryElsewhere["id"], m1["id"], "same sender on another connection: \(retryElsewhere)")
        for c in [s1, s2, r1, r2] {
            try assertNoEvent(c, "message:new", "a retried message is not delivered again")
        }

        // Another sender may use the same client_msg_id: it is scoped by sender.
        let m2 = try r1.sendMessage(chatID, "reply", clientMsgID: "cm-1")
        assertMessage(m2, chat: chatID, seq: 2, sender: r.name, content: "reply", clientMsgID: "cm-1")
        for c in [s1, s2, r2] {
            let event = try c.event("message:new") { $0["payload"]?["id"] == m2["id"] }
            XCTAssertEqual(event["payload"]?["seq"]?.int, 2)
        }
        try assertNoEvent(r1, "message:new", "the sending connection gets the response instead")

        // Content comes back byte for byte; no client_msg_id gives null.
        let tricky = "olá 👋 \"quoted\" back\\slash\nline two\t\u{1}end ☃"
        let m3 = try s1.sendMessage(chatID, tricky)
        assertMessage(m3, chat: chatID, seq: 3, sender: s.name, content: tricky)
        let atLimit = String(repeating: "x", count: 4000)
        let m4 = try s2.sendMessage(chatID, atLimit)
        assertMessage(m4, chat: chatID, seq: 4, sender: s.name, content: atLimit)
        // Limits count Unicode scalars (PROTOCOL.md 3.1): 4000 emoji pass, 4001 do not.
        let emoji = String(repeating: "👋", count: 4000)
        let m5 = try s1.sendMessage(chatID, emoji)
        assertMessage(m5, chat: chatID, seq: 5, sender: s.name, content: emoji)
        assertError(try s1.request("message", [("chat_id", .string(chatID)), ("content", .string(emoji + "👋"))]), "message", "bad_request")
        let received = try r2.event("message:new") { $0["payload"]?["id"] == m3["id"] }
        XCTAssertEqual(received["payload"]?["content"]?.string, tricky)

        // Bounds and lookups.
        let chat: (String, E2EJSON) = ("chat_id", .string(chatID))
        assertError(try s1.request("message", [chat, ("content", "")]), "message", "bad_request")
        assertError(try s1.request("message", [chat, ("content", .string(atLimit + "y"))]), "message", "bad_request")
        assertError(try s1.request("message", [chat, ("content", 12)]), "message", "bad_request")
        assertError(try s1.request("message", [chat]), "message", "bad_request")
        assertError(try s1.request("message", [chat, ("content", "x"), ("client_msg_id", .string(String(repeating: "c", count: 65)))]),
                    "message", "bad_request")
        assertError(try s1.request("message", [("content", "x")]), "message", "bad_request")
        assertError(try s1.request("message", [("chat_id", .string(prefix + "-no-chat")), ("content", "x")]), "message", "not_found")

        // The stored history: 1...4 in order, no duplicate from the retries.
        let page = assertOK(try r1.request("get_messages", [chat, ("mark_read", false)]), "get_messages")
        XCTAssertEqual(page["messages"]?.array?.compactMap { $0["seq"]?.int }, [1, 2, 3, 4, 5], "\(page)")
        XCTAssertEqual(page["messages"]?.array?.compactMap { $0["id"] }, [m1, m2, m3, m4, m5].compactMap { $0["id"] })
        XCTAssertEqual(page["has_more"], false)
    }

    private func paging(_ kind: E2ETransportKind, _ prefix: String) throws {
        let pair = users(prefix, onWorkers: [1, 2])
        let (a, b) = (pair[0], pair[1])
        let ca = try registeredClient(a, kind), cb = try registeredClient(b, kind)
        let chatID = try directChat(ca, with: b.name)
        let chat: (String, E2EJSON) = ("chat_id", .string(chatID))
        var sent: [E2EJSON] = []
        for i in 1...7 { sent.append(try ca.sendMessage(chatID, "p\(i)")) }

        func page(_ fields: [(String, E2EJSON)]) throws -> (seqs: [Int], hasMore: Bool?) {
            let reply = assertOK(try cb.request("get_messages", [chat] + fields), "get_messages")
            let messages = reply["messages"]?.array ?? []
            for message in messages {
                let seq = message["seq"]?.int ?? 0
                guard seq >= 1 && seq <= sent.count else {
                    XCTFail("seq out of range: \(message)")
                    continue
                }
                for field in ["id", "chat_id", "sender_id", "content", "timestamp", "client_msg_id"] {
                    XCTAssertEqual(message[field], sent[seq - 1][field], "a page holds the messages as stored: \(message)")
                }
            }
            return (messages.compactMap { $0["seq"]?.int }, reply["has_more"]?.bool)
        }
        func expect(_ fields: [(String, E2EJSON)], _ seqs: [Int], hasMore: Bool, line: UInt = #line) throws {
            let got = try page(fields)
            XCTAssertEqual(got.seqs, seqs, "seqs for \(E2EJSON.object(fields))", line: line)
            XCTAssertEqual(got.hasMore, hasMore, "has_more for \(E2EJSON.object(fields))", line: line)
        }
        let noMark: (String, E2EJSON) = ("mark_read", false)
        try expect([("limit", 3), noMark], [5, 6, 7], hasMore: true)
        try expect([("before_seq", 5), ("limit", 3), noMark], [2, 3, 4], hasMore: true)
        try expect([("before_seq", 2), ("limit", 3), noMark], [1], hasMore: false)
        try expect([("after_seq", 4), ("limit", 2), noMark], [5, 6], hasMore: true)
        try expect([("after_seq", 5), ("limit", 10), noMark], [6, 7], hasMore: false)
        try expect([("after_seq", 7), noMark], [], hasMore: false)
        try expect([("after_seq", 0), ("limit", 7), noMark], [1, 2, 3, 4, 5, 6, 7], hasMore: false)
        try expect([noMark], [1, 2, 3, 4, 5, 6, 7], hasMore: false)

        assertError(try cb.request("get_messages", [chat, ("before_seq", 5), ("after_seq", 1)]), "get_messages", "bad_request")
        assertError(try cb.request("get_messages", [chat, ("limit", 201)]), "get_messages", "bad_request")
        assertError(try cb.request("get_messages", [chat, ("before_seq", "5")]), "get_messages", "bad_request")
        assertError(try cb.request("get_messages", []), "get_messages", "bad_request")

        // mark_read false left b's marker alone; the default moves it to the newest returned, never back.
        func unread() throws -> Int? {
            let chats = assertOK(try cb.request("get_user_chats"), "get_user_chats")["chats"]?.array ?? []
            return chats.first { $0["id"]?.string == chatID }?["unread_count"]?.int
        }
        XCTAssertEqual(try unread(), 7)
        try expect([("before_seq", 3), ("limit", 2)], [1, 2], hasMore: false)
        XCTAssertEqual(try unread(), 5)
        try expect([("limit", 1)], [7], hasMore: true)
        XCTAssertEqual(try unread(), 0)
        try expect([("before_seq", 3)], [1, 2], hasMore: false)
        XCTAssertEqual(try unread(), 0, "the marker never moves back")

        let seen = assertOK(try ca.request("get_messages", [chat, noMark]), "get_messages")["messages"]?.array ?? []
        XCTAssertEqual(seen.count, 7)
        for message in seen {
            XCTAssertEqual(message["read_by"]?.strings, [b.name], "\(message)")
            XCTAssertNotNil(message["read_at"]?.int, "\(message)")
        }
    }

    private func markRead(_ kind: E2ETransportKind, _ prefix: String) throws {
        let people = users(prefix, onWorkers: [0, 1, 2])
        let (a, b, c) = (people[0], people[1], people[2])
        let ca = try registeredClient(a, kind), cb = try registeredClient(b, kind), cc = try registeredClient(c, kind)
        let group = assertOK(try ca.request("create_group", [("group_name", "leitura"), ("member_ids", .strings([b.name, c.name]))]),
                             "create_group")
        let groupID = group["chat"]?["id"]?.string ?? ""
        let chat: (String, E2EJSON) = ("chat_id", .string(groupID))
        for i in 1...3 { _ = try ca.sendMessage(groupID, "r\(i)") }

        let marked = assertOK(try cb.request("mark_read", [chat, ("seq", 2)]), "mark_read")
        XCTAssertNil(marked["code"])
        var readAtB = 0
        for other in [ca, cc] {
            let event = try other.event("message:read") { $0["payload"]?["user_id"]?.string == b.name }
            let payload = event["payload"]
            XCTAssertEqual(payload?["chat_id"]?.string, groupID, "\(event)")
            XCTAssertEqual(payload?["seq"]?.int, 2, "\(event)")
            readAtB = payload?["read_at"]?.int ?? -1
            XCTAssertGreaterThan(readAtB, 0, "\(event)")
        }
        try assertNoEvent(cb, "message:read", "the reader gets the response only")

        func history() throws -> [E2EJSON] {
            assertOK(try ca.request("get_messages", [chat, ("mark_read", false)]), "get_messages")["messages"]?.array ?? []
        }
        var messages = try history()
        XCTAssertEqual(messages.map { $0["read_by"]?.strings ?? ["?"] }, [[b.name], [b.name], []])
        XCTAssertEqual(messages.map { $0["read_at"] }, [.int(Int64(readAtB)), .int(Int64(readAtB)), .null])

        // A later reader: read_by grows, read_at stays the earliest marker time.
        waitForWallClock(after: readAtB)
        assertOK(try cc.request("mark_read", [chat, ("seq", 1)]), "mark_read")
        let eventC = try ca.event("message:read") { $0["payload"]?["user_id"]?.string == c.name }
        XCTAssertEqual(eventC["payload"]?["seq"]?.int, 1)
        XCTAssertGreaterThan(eventC["payload"]?["read_at"]?.int ?? 0, readAtB)
        messages = try history()
        XCTAssertEqual(messages.map { Set($0["read_by"]?.strings ?? ["?"]) }, [[b.name, c.name], [b.name], []])
        XCTAssertEqual(messages.map { $0["read_at"] }, [.int(Int64(readAtB)), .int(Int64(readAtB)), .null])

        // The marker never moves back, and a mark_read that does not move it pushes nothing (PROTOCOL.md 3.3).
        assertOK(try cb.request("mark_read", [chat, ("seq", 1)]), "mark_read")
        messages = try history()
        XCTAssertEqual(messages[1]["read_by"]?.strings, [b.name], "b's marker is still at 2")
        try assertNoEvent(ca, "message:read", "a mark_read that moves nothing is silent")

        // Unread counts per member; the sender's own messages are read.
        func unread(_ client: E2EChatClient) throws -> Int? {
            let chats = assertOK(try client.request("get_user_chats"), "get_user_chats")["chats"]?.array ?? []
            return chats.first { $0["id"]?.string == groupID }?["unread_count"]?.int
        }
        XCTAssertEqual(try unread(ca), 0)
        XCTAssertEqual(try unread(cb), 1)
        XCTAssertEqual(try unread(cc), 2)

        // Sending moves the sender's marker: b's message makes b's unread 0 and is unread for a and c.
        _ = try cb.sendMessage(groupID, "r4")
        XCTAssertEqual(try unread(cb), 0)
        XCTAssertEqual(try unread(ca), 1)
        XCTAssertEqual(try unread(cc), 3)

        // Past the newest message marks the newest (PROTOCOL.md 3.3).
        assertOK(try cc.request("mark_read", [chat, ("seq", 99)]), "mark_read")
        let toNewest = try ca.event("message:read") { $0["payload"]?["user_id"]?.string == c.name }
        XCTAssertEqual(toNewest["payload"]?["seq"]?.int, 4, "\(toNewest)")
        XCTAssertEqual(try unread(cc), 0)

        assertError(try cb.request("mark_read", [chat]), "mark_read", "bad_request")
        assertError(try cb.request("mark_read", [("seq", 1)]), "mark_read", "bad_request")
        assertError(try cb.request("mark_read", [("chat_id", .string(prefix + "-none")), ("seq", 1)]), "mark_read", "not_found")
    }

    private func typingAndPresence(_ kind: E2ETransportKind, _ prefix: String) throws {
        let people = users(prefix, onWorkers: [2, 0, 1])
        let (a, b, c) = (people[0], people[1], people[2])
        let ca = try registeredClient(a, kind), cb = try registeredClient(b, kind)
        let cb2 = try loggedInClient(b, kind, label: "b2")
        let setup = try connect(kind, "setup")
        assertOK(try setup.request("register", [("username", .string(c.name)), ("password", .string(c.password))]), "register")
        setup.close()

        let group = assertOK(try ca.request("create_group", [("group_name", "digitando"), ("member_ids", .strings([b.name, c.name]))]),
                             "create_group")
        let groupID = group["chat"]?["id"]?.string ?? ""
        let typed = assertOK(try ca.request("typing", [("chat_id", .string(groupID))]), "typing")
        XCTAssertNil(typed["code"])
        for client in [cb, cb2] {
            let event = try client.event("chat:typing")
            XCTAssertEqual(event["payload"]?["chat_id"]?.string, groupID, "\(event)")
            XCTAssertEqual(event["payload"]?["user_id"]?.string, a.name, "\(event)")
        }
        try assertNoEvent(ca, "chat:typing", "the typist is not told about itself")
        assertError(try ca.request("typing", [("chat_id", .string(prefix + "-none"))]), "typing", "not_found")
        assertError(try ca.request("typing", []), "typing", "bad_request")

        // Presence is the gateway's: a and b online, c registered but connected nowhere.
        let ids: (String, E2EJSON) = ("user_ids", .strings([a.name, b.name, c.name]))
        let presence = assertOK(try ca.request("get_presence", [ids]), "get_presence")
        XCTAssertEqual(presence["presence"], .object([(a.name, .string("online")), (b.name, .string("online")), (c.name, .string("offline"))]), "\(presence)")

        // b stays online while one of its connections is open, and goes offline with the last.
        cb.close()
        let cc = try loggedInClient(c, kind, label: "c")
        XCTAssertEqual(try ca.request("get_presence", [ids])["presence"]?[c.name]?.string, "online")
        XCTAssertEqual(try ca.request("get_presence", [ids])["presence"]?[b.name]?.string, "online", "b2 is still connected")
        cb2.close()
        var last = E2EJSON.null
        let offline = E2EProcess.waitUntil(timeoutMs: 15_000) {
            last = (try? ca.request("get_presence", [ids])) ?? .null
            return last["presence"]?[b.name]?.string == "offline"
        }
        XCTAssertTrue(offline, "b goes offline once its connections close: \(last)")
        _ = cc

        assertError(try ca.request("get_presence", []), "get_presence", "bad_request")
        let tooMany = E2EJSON.strings((0...100).map { "\(prefix)u\($0)" })
        assertError(try ca.request("get_presence", [("user_ids", tooMany)]), "get_presence", "bad_request")
    }
}
