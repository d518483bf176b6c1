// ScatterMergeTests: merging per-shard answers of get_user_chats and search_users, and the error precedence.
import XCTest
import TagarelaJSON
import TagarelaModel
@testable import TagarelaGateway

final class ScatterMergeTests: XCTestCase {
    func parse(_ text: String) -> JSON { try! JSON.parse(text) }

    func decode(_ outcome: ScatterMerge.Outcome) -> JSON {
        switch outcome {
        case .ok(let bytes), .error(let bytes): return try! JSON.parse(bytes)
        }
    }

    func testChatsMergeNewestActivityFirst() {
        let a = parse(#"{"status":"ok","chats":[{"id":"c1","created_at":100,"last_message":null},{"id":"c2","created_at":50,"last_message":{"timestamp":400}}]}"#)
        let b = parse(#"{"status":"ok","chats":[{"id":"c3","created_at":300,"last_message":null}]}"#)
        let out = decode(ScatterMerge.userChats([a, b], requestID: "r1", limit: 20))
        XCTAssertEqual(out["type"]?.string, "get_user_chats")
        XCTAssertEqual(out["request_id"]?.string, "r1")
        XCTAssertEqual(out["status"]?.string, "ok")
        XCTAssertEqual(out["chats"]?.array?.compactMap { $0["id"]?.string }, ["c2", "c3", "c1"])
    }

    func testUsersMergeSortedDedupedAndCut() {
        let a = parse(#"{"status":"ok","users":[{"id":"bob","username":"bob"},{"id":"al","username":"al"}]}"#)
        let b = parse(#"{"status":"ok","users":[{"id":"alice","username":"alice"},{"id":"bob","username":"bob"}]}"#)
        let out = decode(ScatterMerge.searchUsers([a, b], requestID: "s", limit: 2))
        XCTAssertEqual(out["users"]?.array?.compactMap { $0["username"]?.string }, ["al", "alice"])
        let all = decode(ScatterMerge.searchUsers([a, b], requestID: "s", limit: 10))
        XCTAssertEqual(all["users"]?.array?.compactMap { $0["username"]?.string }, ["al", "alice", "bob"])
    }

    func testAShardDownMakesTheWholeAnswerUnavailable() {
        let a = parse(#"{"status":"ok","chats":[]}"#)
        let bad = parse(#"{"status":"error","code":"bad_request","message":"no"}"#)
        let out = decode(ScatterMerge.userChats([a, bad, nil], requestID: "r", limit: 20))
        XCTAssertEqual(out["status"]?.string, "error")
        XCTAssertEqual(out["code"]?.string, "unavailable")
        let other = decode(ScatterMerge.searchUsers([a, bad], requestID: "r", limit: 5))
        XCTAssertEqual(other["code"]?.string, "bad_request")
        XCTAssertEqual(other["type"]?.string, "search_users")
        XCTAssertEqual(other["request_id"]?.string, "r")
    }

    func testMissingUsers() {
        XCTAssertEqual(ScatterMerge.missingUsers(parse(#"{"status":"ok","missing":["x"]}"#)), ["x"])
        XCTAssertEqual(ScatterMerge.missingUsers(parse(#"{"status":"ok","missing":[]}"#)), [])
        XCTAssertNil(ScatterMerge.missingUsers(parse(#"{"status":"error","code":"internal"}"#)))
    }

    /// Moved from TagarelaModelTests with `ScatterMerge` (gateway logic, issue 9).
    func testScatterMergeOfFullResponses() {
        let p1 = #"{"type":"get_user_chats","status":"ok","chats":[{"id":"a","created_at":5,"last_message":null},{"id":"b","created_at":1,"last_message":{"timestamp":9}}]}"#
        let p2 = #"{"type":"get_user_chats","status":"ok","chats":[{"id":"c","created_at":7,"last_message":null}]}"#
        let merged = decode(ScatterMerge.userChats([try! JSON.parse(p1), try! JSON.parse(p2)], requestID: "r", limit: 20))
        XCTAssertEqual(merged["chats"]?.array?.compactMap { $0["id"]?.string }, ["b", "c", "a"])
        XCTAssertEqual(merged["request_id"], "r")
        let err = Responses.unavailable(type: "get_user_chats", requestID: nil)
        XCTAssertEqual(decode(ScatterMerge.userChats([try! JSON.parse(p1), try! JSON.parse(err)], requestID: nil, limit: 20))["code"], "unavailable")
        let u1 = #"{"status":"ok","users":[{"id":"bo"},{"id":"bz"}]}"#
        let u2 = #"{"status":"ok","users":[{"id":"bb"}]}"#
        let users = decode(ScatterMerge.searchUsers([try! JSON.parse(u1), try! JSON.parse(u2)], requestID: nil, limit: 2))
        XCTAssertEqual(users["users"]?.array?.compactMap { $0["id"]?.string }, ["bb", "bo"])
    }

    func testGatewayResponses() {
        let e = parse(String(decoding: Responses.error(type: "message", requestID: "q", code: .rateLimited,
                                                       message: "slow down", retryAfterMs: 20), as: UTF8.self))
        XCTAssertEqual(e["code"]?.string, "rate_limited")
        XCTAssertEqual(e["retry_after_ms"]?.int, 20)
        XCTAssertEqual(e["status"]?.string, "error")
        let p = parse(String(decoding: Responses.presence(requestID: "p", statuses: [("a", true), ("b", false)]),
                             as: UTF8.self))
        XCTAssertEqual(p["presence"]?["a"]?.string, "online")
        XCTAssertEqual(p["presence"]?["b"]?.string, "offline")
        let s = parse(String(decoding: Events.sessionEnded(), as: UTF8.self))
        XCTAssertEqual(s["type"]?.string, "session:ended")
        XCTAssertEqual(s["payload"]?["reason"]?.string, "logout")
    }
}
