// HeavyChatListTests: issue 8's reproductions: a user put into hundreds of groups full of maximum-size messages gets get_user_chats in pages, and no link drops.
import Foundation
import TestSupport
import XCTest

/// Issue 8 (a), victim lockout: 190 groups, each with one message of 4000 control characters
/// (24,000 bytes as `\u0001` escapes), made the victim's unpaged get_user_chats (4.6 MB) pass
/// the 4 MiB output queue, and the gateway closed the victim's connection, on every retry.
/// Now: pages, merged across the three shards in one order, and the connection stays.
final class VictimLockoutTests: EndToEndTestCase {
    func testVictimOf190HeavyGroupsGetsEveryChatInPages() throws {
        let victim = E2EUser("lockvictim")
        let groups = try registerAndFillWithHeavyGroups(victim, count: 190, prefix: "lk")
        XCTAssertEqual(Set(groups.map { worker(of: $0) }).count, 3, "the chats are spread over every shard")

        let client = try loggedInClient(victim, .webSocket, label: "victim")
        client.timeoutMs = 30_000
        let byDefault = try pageAll(client, limit: nil)
        XCTAssertEqual(Set(byDefault.chats.compactMap { $0["id"]?.string }), Set(groups))
        XCTAssertEqual(byDefault.chats.count, 190, "no chat twice")
        XCTAssertEqual(byDefault.pages, 10, "190 chats at the default 20 a page")
        assertListOrder(byDefault.chats)
        for chat in byDefault.chats {
            XCTAssertEqual(chat["last_message"]?["content"]?.string?.unicodeScalars.count, 4000)
        }

        let largest = try pageAll(client, limit: 50)
        XCTAssertEqual(largest.chats.compactMap { $0["id"]?.string }, byDefault.chats.compactMap { $0["id"]?.string },
                       "the same list whatever the page size")
        XCTAssertEqual(largest.pages, 4)
        assertError(try client.request("get_user_chats", [("limit", 51)]), "get_user_chats", "bad_request")
        assertError(try client.request("get_user_chats", [("cursor", "not a cursor")]), "get_user_chats", "bad_request")
        try client.barrier()
    }

    /// leave_group across shards, and the per-user group quota on every connection of a user.
    func testLeaveGroupAndTheGroupQuota() throws {
        let people = users("lv", onWorkers: [0, 1, 2])
        let (ana, bia, caio) = (people[0], people[1], people[2])
        let ca = try registeredClient(ana, .webSocket), cb = try registeredClient(bia, .ndjson)
        let cc = try registeredClient(caio, .ndjson)
        let group = try ca.ok("create_group", [("group_name", "sai"), ("member_ids", .strings([bia.name, caio.name]))])
        let id = group["chat"]?["id"]?.string ?? ""
        _ = try cb.event("chat:new")
        _ = try cc.event("chat:new")
        let left = assertOK(try cb.request("leave_group", [("group_id", .string(id))]), "leave_group")
        assertChat(left["chat"], id: id, kind: "group", name: "sai", members: [ana.name, caio.name], unread: 0)
        for c in [ca, cc] {
            let event = try c.event("chat:updated") { $0["payload"]?["id"]?.string == id }
            XCTAssertEqual(Set(event["payload"]?["member_ids"]?.strings ?? []), [ana.name, caio.name])
        }
        XCTAssertEqual(try cb.ok("get_user_chats")["chats"]?.array?.count, 0)
        assertError(try cb.request("leave_group", [("group_id", .string(id))]), "leave_group", "forbidden")
        assertError(try cb.request("message", [("chat_id", .string(id)), ("content", "still here?")]), "message", "forbidden")

        // Ana made one group; 19 more on a second connection, then the quota answers on both.
        let second = try loggedInClient(ana, .ndjson, label: "ana-2")
        for k in 0..<19 { _ = try second.ok("create_group", [("group_name", .string("q\(k)")), ("member_ids", .array([]))]) }
        for c in [ca, second] {
            let refused = try c.request("create_group", [("group_name", "one more"), ("member_ids", .array([]))])
            assertError(refused, "create_group", "limit_reached")
            XCTAssertEqual(refused["limit"]?.string, "groups_created_per_user")
            XCTAssertGreaterThan(refused["retry_after_ms"]?.int ?? 0, 0)
        }
        _ = try cc.ok("create_group", [("group_name", "caio's"), ("member_ids", .array([]))])
    }
}

/// Issue 8 (b), link drop: one user in 1500 such chats made each worker's part of get_user_chats
/// about 19 MB; the gateway refused the frame and dropped the whole worker link, failing the
/// requests of bystanders in flight on it and losing events for watching clients. Now: bounded
/// pages, the link stays, bystanders are untouched. One gateway loop, so the victim and the
/// bystanders share the same links.
final class LinkDropTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }
    override class var extraFlags: [String] { ["--loops", "1"] }

    func testAHugeChatListDropsNoLinkAndFailsNoBystander() throws {
        let victim = E2EUser("dropvictim")
        let groups = try registerAndFillWithHeavyGroups(victim, count: 1500, prefix: "dr")

        let pair = users("dropby", onWorkers: [0, 1])
        let sender = try registeredClient(pair[0], .ndjson, label: "sender")
        let watcher = try registeredClient(pair[1], .webSocket, label: "watcher")
        let chatID = try sender.ok("create_chat", [("user_id", .string(pair[1].name))])["chat"]?["id"]?.string ?? ""
        _ = try watcher.event("chat:new")

        let client = try loggedInClient(victim, .ndjson, label: "victim")
        client.timeoutMs = 60_000
        // The largest page goes out, and the bystander's messages are in flight behind it on the same links.
        let first = try client.send("get_user_chats", [("limit", 50)])
        var sent: [String] = []
        for k in 0..<20 {
            sent.append(try sender.send("message", [("chat_id", .string(chatID)), ("content", .string("by \(k)")),
                                                     ("client_msg_id", .string("by-\(k)"))]))
        }
        let page = try client.response(to: first)
        assertOK(page, "get_user_chats")
        XCTAssertEqual(page["chats"]?.array?.count, 50, "\(page["code"] ?? .null)")
        XCTAssertEqual(page["has_more"], true)
        for (k, id) in sent.enumerated() {
            let reply = try sender.response(to: id)
            assertOK(reply, "message")
            XCTAssertEqual(reply["message"]?["content"]?.string, "by \(k)")
        }
        for k in 0..<20 {
            let event = try watcher.event("message:new", timeoutMs: 10_000)
            XCTAssertEqual(event["payload"]?["content"]?.string, "by \(k)", "every event, in order")
        }

        let all = try pageAll(client, limit: 50)
        XCTAssertEqual(all.chats.count, 1500)
        XCTAssertEqual(Set(all.chats.compactMap { $0["id"]?.string }), Set(groups))
        assertListOrder(all.chats)
        let gatewayLog = (try? String(contentsOfFile: instance.runDir + "/gateway.log", encoding: .utf8)) ?? ""
        XCTAssertFalse(gatewayLog.contains("bad frame"), gatewayLog)
        XCTAssertFalse(gatewayLog.contains("requests answered unavailable"), gatewayLog)
    }
}

extension EndToEndTestCase {
    /// Registers `victim`, who then goes offline while `fillWithHeavyGroups` puts them into
    /// `count` heavy groups (online, their chat:new and message:new events would fill a queue
    /// nobody reads). Returns the group ids.
    func registerAndFillWithHeavyGroups(_ victim: E2EUser, count: Int, prefix: String) throws -> [String] {
        let setup = try connect(.ndjson, "victim-setup")
        try setup.registerAndLogin(victim)
        setup.close()
        return try fillWithHeavyGroups(victim: victim.name, count: count, prefix: prefix)
    }

    /// Puts `victim` into `count` groups, each created by one of `count / 20` fresh users (20
    /// groups each: the per-user quota of `Limits.groupsCreatedPerUserMax`) and holding one
    /// message of 4000 control characters. Raw NDJSON, pipelined 20 at a time, and the
    /// 24 KB answers are checked as text, so the setup stays quick. Returns the group ids.
    func fillWithHeavyGroups(victim: String, count: Int, prefix: String) throws -> [String] {
        let heavy = String(repeating: "\\u0001", count: 4000)
        let perUser = 20
        var groups: [String] = []
        var n = 0
        while groups.count < count {
            let take = min(perUser, count - groups.count)
            let attacker = try connect(.ndjson, "\(prefix)\(n)")
            attacker.timeoutMs = 30_000
            try attacker.registerAndLogin(E2EUser("\(prefix)att\(n)"))
            n += 1
            let creates = (0..<take).map { k in
                (("create_group", [("group_name", E2EJSON.string("g\(k)")), ("member_ids", E2EJSON.strings([victim]))], "c\(k)"))
            }
            try attacker.sendPipelined(creates)
            var made: [String] = []
            for k in 0..<take {
                let reply = try attacker.response(to: "c\(k)")
                guard let id = reply["chat"]?["id"]?.string else {
                    throw E2EError.protocolViolation("create_group failed: \(reply)")
                }
                made.append(id)
            }
            try attacker.transport.sendTexts(made.map {
                #"{"type":"message","request_id":"m","chat_id":"\#($0)","content":"\#(heavy)"}"#
            })
            for _ in made {
                let text = try attacker.transport.receiveText(timeoutMs: 30_000)
                guard text.contains(#""status":"ok""#) else {
                    throw E2EError.protocolViolation("message failed: \(text.prefix(300))")
                }
            }
            attacker.close()
            groups += made
        }
        return groups
    }

    /// Every page of the client's chats from the start; checks each page's bounds and cursor.
    func pageAll(_ client: E2EChatClient, limit: Int?,
                 file: StaticString = #filePath, line: UInt = #line) throws -> (chats: [E2EJSON], pages: Int) {
        var chats: [E2EJSON] = []
        var cursor: String? = nil
        var pages = 0
        while true {
            var fields: [(String, E2EJSON)] = []
            if let limit = limit { fields.append(("limit", .int(Int64(limit)))) }
            if let cursor = cursor { fields.append(("cursor", .string(cursor))) }
            let page = try client.ok("get_user_chats", fields)
            pages += 1
            let items = page["chats"]?.array ?? []
            XCTAssertLessThanOrEqual(items.count, limit ?? 20, file: file, line: line)
            chats += items
            guard page["has_more"] == true else {
                XCTAssertEqual(page["has_more"], false, "\(page["next_cursor"] ?? .null)", file: file, line: line)
                XCTAssertEqual(page["next_cursor"], .null, file: file, line: line)
                return (chats, pages)
            }
            guard let next = page["next_cursor"]?.string, !items.isEmpty, pages < 1000 else {
                XCTFail("has_more without a cursor or an item", file: file, line: line)
                return (chats, pages)
            }
            cursor = next
        }
    }

    /// PROTOCOL.md 2.2: newest activity (last message, else creation) first, ties by chat id.
    func assertListOrder(_ chats: [E2EJSON], file: StaticString = #filePath, line: UInt = #line) {
        let keys = chats.map { chat -> (Int64, String) in
            (chat["last_message"]?["timestamp"]?.int.map(Int64.init) ?? chat["created_at"]?.int.map(Int64.init) ?? 0,
             chat["id"]?.string ?? "")
        }
        for k in keys.indices.dropFirst() {
            let (a, b) = (keys[k - 1], keys[k])
            XCTAssertTrue(a.0 > b.0 || (a.0 == b.0 && a.1 < b.1), "out of order at \(k): \(a) then \(b)", file: file, line: line)
        }
    }
}
