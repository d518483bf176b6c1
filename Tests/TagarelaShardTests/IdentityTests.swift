// IdentityTests: register, login, the password job flow, auth, logout, search and internal users_exist.

import TagarelaJSON
import TagarelaShard
import XCTest

final class IdentityTests: XCTestCase {
    func testRegisterAndConflict() {
        let h = EngineHarness()
        let r = h.send(#"{"type":"register","request_id":"r1","username":"Alice","password":"12345678","display_name":"Al"}"#)
        let j = h.json(r)
        XCTAssertOK(j)
        XCTAssertEqual(j["request_id"], "r1")
        XCTAssertEqual(j["user"], ["id": "alice", "username": "alice", "display_name": "Al", "created_at": .int(h.clock.nowMs)])
        XCTAssertEqual(r.records.count, 1)
        let again = h.send(#"{"type":"register","username":"ALICE","password":"12345678"}"#)
        XCTAssertCode(h.json(again), "conflict")
        XCTAssertTrue(again.records.isEmpty)
        h.register("bob")
        XCTAssertEqual(h.ask(#"{"type":"login","username":"bob","password":"password-bob"}"#)["user"]?["display_name"], "bob")
    }

    func testBadRequestsChangeNothing() {
        let h = EngineHarness()
        for bad in [#"{"type":"register","username":"al","password":"12345678"}"#, #"{"type":"register","username":"alice","password":"short"}"#,
                    "not json", #"{"type":"fly"}"#, #"{"type":"message","chat_id":"x"}"#] {
            let r = h.send(bad, as: "alice")
            XCTAssertCode(h.json(r), "bad_request")
            XCTAssertTrue(r.records.isEmpty && r.events.isEmpty)
        }
        XCTAssertEqual(h.json(h.send("[]"))["type"], "error")
        XCTAssertEqual(h.engine.userCount, 0)
    }

    func testPasswordJobFlow() {
        let h = EngineHarness()
        let step = h.engine.handle(EngineRequest(json: Array(#"{"type":"register","username":"carol","password":"12345678"}"#.utf8)))
        guard case .needsPasswordHash(let job) = step else { return XCTFail("expected a password job") }
        XCTAssertEqual(job.salt.count, 16)
        XCTAssertEqual(job.iterations, 2)
        XCTAssertEqual(job.password, Array("12345678".utf8))
        // Someone else registers the name while the hash runs: the resume sees the conflict.
        h.register("carol")
        XCTAssertCode(try! JSON.parse(h.finish(h.engine.resume(job, derivedKey: job.derive())).response), "conflict")

        let login = h.engine.handle(EngineRequest(json: Array(#"{"type":"login","username":"carol","password":"password-carol"}"#.utf8)))
        guard case .needsPasswordHash(let lj) = login else { return XCTFail("expected a password job") }
        let wrongKey = h.finish(h.engine.resume(lj, derivedKey: [UInt8](repeating: 0, count: 32)))
        XCTAssertCode(try! JSON.parse(wrongKey.response), "bad_credentials")
        XCTAssertNil(wrongKey.authUserID)
        let ok = h.finish(h.engine.resume(lj, derivedKey: lj.derive()))
        XCTAssertEqual(ok.authUserID, "carol")
        XCTAssertEqual(ok.records.count, 1)
    }

    func testLoginFailuresLookTheSame() {
        let h = EngineHarness()
        h.register("alice")
        let wrong = h.ask(#"{"type":"login","username":"alice","password":"wrong-password"}"#)
        let unknown = h.ask(#"{"type":"login","username":"nobody","password":"wrong-password"}"#)
        XCTAssertCode(wrong, "bad_credentials")
        XCTAssertEqual(wrong["message"], unknown["message"])
        XCTAssertEqual(wrong["code"], unknown["code"])
    }

    func testLoginTokenAndAuth() throws {
        let h = EngineHarness()
        h.register("a.b-c")
        let r = h.send(#"{"type":"login","request_id":"x","username":"a.b-c","password":"password-a.b-c"}"#)
        let token = h.json(r)["token"]!.string!
        XCTAssertTrue(token.hasPrefix("a.b-c."))
        let tail = token.dropFirst("a.b-c.".count)
        XCTAssertEqual(tail.count, 43)
        XCTAssertTrue(tail.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        XCTAssertEqual(r.authUserID, "a.b-c")
        XCTAssertEqual(r.authSessionID?.count, 64)
        XCTAssertFalse(h.engine.snapshot().containsSubsequence(Array(tail.utf8)), "the token itself must not be stored")

        let a = h.send(#"{"type":"auth","token":"\#(token)"}"#)
        XCTAssertOK(h.json(a))
        XCTAssertEqual(h.json(a)["user"]?["id"], "a.b-c")
        XCTAssertEqual(a.authSessionID, r.authSessionID)
        XCTAssertCode(h.ask(#"{"type":"auth","token":"a.b-c.AAAA"}"#), "bad_credentials")
        h.clock.advance(ms: 60_001)
        XCTAssertCode(h.ask(#"{"type":"auth","token":"\#(token)"}"#), "bad_credentials")
        XCTAssertEqual(h.engine.purgeExpiredSessions().count, 1)
        XCTAssertEqual(h.engine.sessionCount, 0)
    }

    func testLogoutEndsOnlyThatSession() {
        let h = EngineHarness()
        h.register("alice")
        let t1 = h.login("alice")
        let s1 = h.sessions["alice"]!
        let t2 = h.login("alice")
        let out = h.send(#"{"type":"logout","request_id":"q"}"#, as: "alice", session: s1)
        XCTAssertEqual(String(decoding: out.response, as: UTF8.self), #"{"type":"logout","request_id":"q","status":"ok"}"#)
        XCTAssertEqual(out.endSessionID, s1)
        XCTAssertEqual(out.records.count, 1)
        XCTAssertCode(h.ask(#"{"type":"auth","token":"\#(t1)"}"#), "bad_credentials")
        XCTAssertOK(h.ask(#"{"type":"auth","token":"\#(t2)"}"#))
    }

    /// The gateway's session check: live while the session is, for its own user only; gone
    /// after a logout_all, and after the token's expiry.
    func testSessionIsLiveUntilEndedOrExpired() {
        let h = EngineHarness()
        h.register("alice", "bob")
        h.login("alice")
        let s1 = h.sessions["alice"]!
        XCTAssertTrue(h.engine.sessionIsLive(userID: "alice", sessionID: s1))
        XCTAssertFalse(h.engine.sessionIsLive(userID: "bob", sessionID: s1), "another user's session")
        XCTAssertFalse(h.engine.sessionIsLive(userID: "alice", sessionID: "00"), "no such session")
        h.send(#"{"type":"logout_all"}"#, as: "alice")
        XCTAssertFalse(h.engine.sessionIsLive(userID: "alice", sessionID: s1))
        h.login("alice")
        let s2 = h.sessions["alice"]!
        h.clock.nowMs += 60_000
        XCTAssertFalse(h.engine.sessionIsLive(userID: "alice", sessionID: s2), "expired")
    }

    func testAuthenticationRequired() {
        let h = EngineHarness()
        for t in ["logout", "search_users\",\"query\":\"a", "get_user_chats", "create_chat\",\"user_id\":\"bob",
                  "message\",\"chat_id\":\"c\",\"content\":\"x", "typing\",\"chat_id\":\"c"] {
            XCTAssertCode(h.ask(#"{"type":"\#(t)"}"#), "unauthenticated")
        }
        // Internal requests do not bypass authentication for user actions.
        XCTAssertCode(h.ask(#"{"type":"create_chat","user_id":"bob"}"#, isInternal: true), "unauthenticated")
        XCTAssertNil(h.send(#"{"type":"logout"}"#, as: "alice", session: "").endSessionID)
    }

    func testSearchUsersAndUsersExist() {
        let h = EngineHarness()
        h.register("bob", "bobby", "alice", "bo.b", "carl")
        let r = h.ask(#"{"type":"search_users","query":"BO","limit":2}"#, as: "alice")
        XCTAssertEqual(r["users"]?.array?.compactMap { $0["id"]?.string }, ["bo.b", "bob"])
        let all = h.ask(#"{"type":"search_users","query":"bo"}"#, as: "alice")
        XCTAssertEqual(all["users"]?.array?.count, 3)
        XCTAssertEqual(h.ask(#"{"type":"search_users","query":"zz"}"#, as: "alice")["users"], [])
        XCTAssertEqual(h.ask(#"{"type":"search_users","query":"carl"}"#, isInternal: true)["users"]?.array?.count, 1)

        let e = h.ask(#"{"type":"users_exist","user_ids":["bob","ghost","carl","x y"]}"#, isInternal: true)
        XCTAssertEqual(e["missing"], ["ghost", "x y"])
        XCTAssertCode(h.ask(#"{"type":"users_exist","user_ids":["bob"]}"#, as: "bob"), "bad_request")
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for i in 0...(count - needle.count) where self[i..<(i + needle.count)].elementsEqual(needle) { return true }
        return false
    }
}
