// BoundedOutputTests: get_user_chats pages merged across shards, the derived output bounds, too_large instead of a close, and the per-user group quota (issue 8).
import Foundation
import XCTest
import TagarelaJSON
import TagarelaLink
import TagarelaModel
import TagarelaWire
import TestSupport
@testable import TagarelaGateway

final class BoundedOutputTests: GatewayTestCase {
    // MARK: - Merging pages across shards

    /// One shard's part, as the engine answers it: the first `limit` after the cursor.
    func shardPart(_ chats: [ChatCursor], limit: Int, after cursor: ChatCursor?) -> JSON {
        let sorted = chats.filter { cursor == nil || $0.isAfter(cursor!) }.sorted(by: ChatCursor.precedes)
        let items = sorted.prefix(limit).map { c -> JSON in
            .object(JSONObject([("id", .string(c.chatID)), ("created_at", .int(c.activity)), ("last_message", .null)]))
        }
        return .object(JSONObject([("status", "ok"), ("chats", .array(Array(items))), ("has_more", .bool(sorted.count > limit))]))
    }

    /// Seeded random lists over 1-5 shards, with many ties in activity: paging through the
    /// merged pages at every page size gives every chat once, in the one global order.
    func testMergedPagesAreTheGlobalOrderOnceAtEveryPageSize() throws {
        var rng = SeededRandom(seed: 0x8_0B0_0ED)
        for round in 0..<60 {
            let shards = 1 + Int(rng.next() % 5)
            var parts = [[ChatCursor]](repeating: [], count: shards)
            let count = Int(rng.next() % 40)
            for k in 0..<count {
                let chat = ChatCursor(activity: Int64(rng.next() % 8), chatID: "c\(k)")
                parts[Int(rng.next() % UInt64(shards))].append(chat)
            }
            let global = parts.flatMap { $0 }.sorted(by: ChatCursor.precedes).map(\.chatID)
            let limit = 1 + Int(rng.next() % 7)
            var seen: [String] = []
            var cursor: ChatCursor? = nil
            var pages = 0
            while true {
                let replies: [JSON?] = parts.map { shardPart($0, limit: limit, after: cursor) }
                guard case .ok(let bytes) = ScatterMerge.userChats(replies, requestID: "p", limit: limit) else {
                    return XCTFail("merge failed")
                }
                let page = try JSON.parse(bytes)
                let ids = page["chats"]?.array?.compactMap { $0["id"]?.string } ?? []
                XCTAssertLessThanOrEqual(ids.count, limit)
                seen += ids
                pages += 1
                guard page["has_more"] == true, pages < 100 else {
                    XCTAssertEqual(page["next_cursor"], .null)
                    break
                }
                cursor = ChatCursor(text: page["next_cursor"]?.string ?? "")
                XCTAssertNotNil(cursor)
            }
            XCTAssertEqual(seen, global, "round \(round): \(shards) shards, limit \(limit)")
        }
    }

    /// A shard with more chats than it sent makes `has_more` true even when the merged page is not full.
    func testAShardWithMoreMakesHasMore() throws {
        let a = shardPart([ChatCursor(activity: 1, chatID: "a1"), ChatCursor(activity: 0, chatID: "a2")], limit: 1, after: nil)
        let b = shardPart([], limit: 1, after: nil)
        guard case .ok(let bytes) = ScatterMerge.userChats([a, b], requestID: nil, limit: 1) else { return XCTFail() }
        let page = try JSON.parse(bytes)
        XCTAssertEqual(page["has_more"], true)
        XCTAssertEqual(page["next_cursor"], "1 a1")
    }

    // MARK: - Derived bounds

    /// Limits' output bounds hold the largest response the protocol allows (OutputBounds), with
    /// the room their comments promise; the worker refuses frames past the gateway's bound.
    func testOutputBoundsAreDerivedFromTheProtocol() {
        let limits = Limits.default
        let largest = OutputBounds.responseBytesMax
        XCTAssertGreaterThanOrEqual(limits.outgoingQueueBytesMax - largest - 14, 100 * OutputBounds.messageBytesMax,
                                    "the queue holds the largest response and a hundred maximum-size message:new")
        // The largest request (a message with a maximum-size attachment) fits one WebSocket
        // message and one NDJSON line (FieldLimits.attachmentBytesMax).
        let largestRequest = AttachmentRules.base64Count(ofBytes: FieldLimits.attachmentBytesMax) + 32 * 1024
        XCTAssertLessThan(largestRequest, limits.webSocketMessageBytesMax)
        XCTAssertLessThan(largestRequest, limits.ndjsonLineBytesMax)
        let worstReply = LinkReply(requestID: .max, json: [UInt8](repeating: 0, count: largest),
                                   authUserID: String(repeating: "u", count: FieldLimits.usernameMax),
                                   authSessionID: String(repeating: "s", count: 64), endSessionID: String(repeating: "e", count: 64))
        XCTAssertLessThanOrEqual(LinkCodec.replyBodyBytes(worstReply), limits.linkFrameBytesMax)
        XCTAssertLessThan(LinkCodec.replyBodyBytes(worstReply) - largest, 512, "the worker's reserve for a reply's fields")
    }

    // MARK: - too_large instead of a silent close

    /// A response that could never fit the client's queue is answered `too_large`; the client
    /// stays connected and its next request is served (before, the connection was closed).
    func testAnOversizeResponseIsAnsweredTooLargeAndTheClientStays() throws {
        let huge = String(repeating: "x", count: 300_000)
        let h = try start(workers: 1, respond: { r in
            let text = String(decoding: r.json, as: UTF8.self)
            guard Canned.field("type", in: text) == "get_messages" else { return GatewayHarness.standardReply(r) }
            return LinkReply(requestID: r.requestID, json: Canned.ok(r, extra: "\"messages\":[\"\(huge)\"],\"has_more\":false"))
        }, configure: { $0.limits.outgoingQueueBytesMax = 256 * 1024 })
        let c = try loggedIn(h, "alice")
        c.send("{\"type\":\"get_messages\",\"request_id\":\"big\",\"chat_id\":\"c\"}\n")
        let reply = json(c.readLine())
        XCTAssertEqual(reply?["request_id"]?.string, "big")
        XCTAssertEqual(reply?["type"]?.string, "get_messages")
        XCTAssertEqual(reply?["code"]?.string, "too_large")
        c.send("{\"type\":\"get_presence\",\"request_id\":\"p\",\"user_ids\":[\"alice\"]}\n")
        XCTAssertEqual(json(c.readLine())?["presence"]?["alice"]?.string, "online", "the connection is still served")
    }

    // MARK: - Groups created per user

    func testUserQuotaAllowsTheBurstThenOnePerShare() {
        let q = UserQuota(max: 20, windowMs: 600_000)
        for _ in 0..<20 { XCTAssertNil(q.take("ana", nowMs: 1_000)) }
        XCTAssertEqual(q.take("ana", nowMs: 1_000), 30_000, "one more every 600 s / 20")
        XCTAssertNil(q.take("bia", nowMs: 1_000), "per user")
        XCTAssertEqual(q.take("ana", nowMs: 21_000), 10_000)
        XCTAssertNil(q.take("ana", nowMs: 31_000))
        XCTAssertNotNil(q.take("ana", nowMs: 31_000))
        // Buckets that refilled are forgotten (pruned every 1024 takes).
        for k in 0..<1100 { _ = q.take("u\(k % 3)", nowMs: 10_000_000 + Int64(k)) }
        XCTAssertEqual(q.trackedUsers, 3)
    }

    /// Past the quota, create_group is answered `limit_reached` with `retry_after_ms` on every
    /// connection of the user (the quota is the user's, not the connection's).
    func testGroupCreationIsLimitedPerUserAcrossConnections() throws {
        let h = try start(workers: 2, loops: 2, configure: { c in
            c.limits.groupsCreatedPerUserMax = 3
            c.limits.groupsCreatedWindowMs = 3_600_000
        })
        let first = try loggedIn(h, "alice")
        let second = try loggedIn(h, "alice", session: "other")
        for (n, c) in [first, second, first].enumerated() {
            c.send("{\"type\":\"create_group\",\"request_id\":\"g\(n)\",\"group_name\":\"g\",\"member_ids\":[]}\n")
            XCTAssertEqual(json(c.readLine())?["status"]?.string, "ok")
        }
        second.send("{\"type\":\"create_group\",\"request_id\":\"g3\",\"group_name\":\"g\",\"member_ids\":[]}\n")
        let refused = json(second.readLine())
        XCTAssertEqual(refused?["code"]?.string, "limit_reached")
        XCTAssertEqual(refused?["limit"]?.string, "groups_created_per_user")
        XCTAssertEqual(refused?["request_id"]?.string, "g3")
        XCTAssertGreaterThan(refused?["retry_after_ms"]?.int ?? 0, 1_000_000)
        let bob = try loggedIn(h, "bob")
        bob.send("{\"type\":\"create_group\",\"request_id\":\"b\",\"group_name\":\"g\",\"member_ids\":[]}\n")
        XCTAssertEqual(json(bob.readLine())?["status"]?.string, "ok", "another user is not affected")
    }
}
