// SessionCheckTests: a gateway loop checks each new binding with the user's shard after subscribing it, and ends a session the shard says is gone or cannot vouch for (PROTOCOL.md 3.2).
import Foundation
import XCTest
import TagarelaJSON
import TagarelaModel
@testable import TagarelaGateway

final class SessionCheckTests: GatewayTestCase {
    private func login(_ client: TestClient, _ user: String, session: String) {
        client.send("{\"type\":\"login\",\"request_id\":\"l\",\"username\":\"\(user)\",\"password\":\"\(session)\"}\n")
        XCTAssertEqual(json(client.readLine())?["status"]?.string, "ok")
    }

    /// Waits (bounded) until the fake got `count` session checks.
    private func waitForChecks(_ h: GatewayHarness, _ count: Int) {
        let deadline = Date().addingTimeInterval(10)
        while h.workers[0].sessionChecks.count < count && Date() < deadline { usleep(5_000) }
        XCTAssertEqual(h.workers[0].sessionChecks.count, count)
    }

    /// Every new binding is checked, the loop's first of the user and a later one alike, on
    /// the user's shard's link after that loop's subscribe for the user; the check carries
    /// the user and session, flagged internal. A live answer changes nothing.
    func testEachBindingIsCheckedAfterTheSubscribe() throws {
        let h = try start(workers: 1, loops: 1)
        let a = try h.client(), b = try h.client()
        login(a, "alice", session: "s1")
        login(b, "alice", session: "s2")
        waitForChecks(h, 2)
        let checks = h.workers[0].sessionChecks
        XCTAssertEqual(checks.map(\.userID), ["alice", "alice"])
        XCTAssertEqual(checks.map(\.sessionID), ["s1", "s2"])
        XCTAssertTrue(checks.allSatisfy(\.isInternal))
        XCTAssertEqual(h.workers[0].linkOrders, [["subscribe alice", "check alice", "check alice"]])
        XCTAssertEqual(h.workers[0].requests.count, 2, "the checks are not client requests")
        // Still authenticated: a request goes through.
        b.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(b.readLine())?["status"]?.string, "ok")
    }

    /// The shard says the session is gone (a logout_all it processed before the subscribe):
    /// the connection gets `session:ended` with reason `ended` and is unauthenticated.
    func testGoneSessionEndsOnTheConnection() throws {
        let h = try start(workers: 1, loops: 2)
        h.workers[0].answerSessionChecks(.gone)
        let a = try h.client()
        login(a, "alice", session: "s1")
        let ended = json(a.readLine())
        XCTAssertEqual(ended?["type"]?.string, "session:ended")
        XCTAssertEqual(ended?["payload"]?["reason"]?.string, SessionCheck.endedReason)
        a.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(a.readLine())?["code"]?.string, "unauthenticated")
    }

    /// The check is never answered and the link drops (it is answered `unavailable`): the
    /// session cannot be vouched for, so it ends with reason `unverified`; once the worker is
    /// back the client can authenticate again.
    func testUnansweredCheckEndsTheSession() throws {
        let h = try start(workers: 1, loops: 1)
        h.workers[0].answerSessionChecks(.unanswered)
        let a = try h.client()
        login(a, "alice", session: "s1")
        waitForChecks(h, 1)
        h.workers[0].dropLinks()
        let ended = json(a.readLine())
        XCTAssertEqual(ended?["type"]?.string, "session:ended")
        XCTAssertEqual(ended?["payload"]?["reason"]?.string, SessionCheck.unverifiedReason)
        h.workers[0].answerSessionChecks(.live)
        h.waitForLinks(loops: 1)
        // The gateway may see its new link up a moment after the fake accepted it.
        var answer: JSON?
        let deadline = Date().addingTimeInterval(10)
        repeat {
            a.send("{\"type\":\"login\",\"request_id\":\"again\",\"username\":\"alice\",\"password\":\"s1\"}\n")
            answer = json(a.readLine())
            if answer?["status"]?.string != "ok" { usleep(20_000) }
        } while answer?["code"]?.string == "unavailable" && Date() < deadline
        XCTAssertEqual(answer?["status"]?.string, "ok")
        a.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(a.readLine())?["status"]?.string, "ok")
    }

    /// A link that comes back (its worker restarted, the link dropped) missed the session ends
    /// its worker processed meanwhile: every session bound on the loop for that shard's users is
    /// checked again behind the subscriptions, and a gone one ends.
    func testSessionsAreCheckedAgainWhenTheLinkComesBack() throws {
        let h = try start(workers: 1, loops: 1)
        let a = try h.client()
        login(a, "alice", session: "s1")
        waitForChecks(h, 1)
        h.workers[0].answerSessionChecks(.gone)  // a logout_all while the link was down
        h.workers[0].dropLinks()
        let ended = json(a.readLine())
        XCTAssertEqual(ended?["type"]?.string, "session:ended")
        XCTAssertEqual(ended?["payload"]?["reason"]?.string, SessionCheck.endedReason)
        XCTAssertEqual(h.workers[0].sessionChecks.count, 2)
        XCTAssertTrue(h.workers[0].linkOrders.contains { Array($0.suffix(2)) == ["subscribe alice", "check alice"] },
                      "the recheck follows the subscribe: \(h.workers[0].linkOrders)")
    }

    /// A recheck that cannot be answered leaves the session as it was: it was vouched for when
    /// it was bound, and the link's next return asks again.
    func testAnUnansweredRecheckKeepsTheSession() throws {
        let h = try start(workers: 1, loops: 1)
        let a = try h.client()
        login(a, "alice", session: "s1")
        waitForChecks(h, 1)
        h.workers[0].answerSessionChecks(.unanswered)
        h.workers[0].dropLinks()
        waitForChecks(h, 2)
        h.workers[0].answerSessionChecks(.live)
        h.workers[0].dropLinks()  // the recheck in flight fails with the link
        waitForChecks(h, 3)
        // Still authenticated (a typing request is answered ok once the link is up again).
        var answer: JSON?
        let deadline = Date().addingTimeInterval(10)
        repeat {
            a.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
            answer = json(a.readLine())
            if answer?["code"]?.string == "unavailable" { usleep(20_000) }
        } while answer?["code"]?.string == "unavailable" && Date() < deadline
        XCTAssertEqual(answer?["status"]?.string, "ok", "\(String(describing: answer))")
    }

    // MARK: - The session's part, without sockets

    /// A check answered after the connection left the session it asked about (a logout, a
    /// login as someone else) changes nothing. A rebind to another session of the same user
    /// (auth with another token of hers, change_password) is checked too: a notice ending the
    /// new session before its answer bound it found the connection on the old one.
    func testAStaleCheckAnswerIsIgnoredAndEveryNewSessionIsChecked() {
        let p = SessionProbe()
        p.request(#"{"type":"login","request_id":"l1","username":"bob","password":"pw"}"#)
        p.answer("l1", authUserID: "bob", authSessionID: "s1")
        p.request(#"{"type":"login","request_id":"l2","username":"carol","password":"pw"}"#)
        p.answer("l2", authUserID: "carol", authSessionID: "s2")
        _ = p.take()
        p.answerSessionCheck(live: false)
        XCTAssertEqual(p.take(), [], "bob's session is no longer this connection's")
        p.request(#"{"type":"auth","request_id":"a1","token":"t"}"#)
        p.answer("a1", authUserID: "carol", authSessionID: "s3")
        XCTAssertEqual(p.take(), ["forward a1 to 0 as carol", "pause", "send a1 ok",
                                  "forward session_check to 0 as carol", "resume"])
        p.answerSessionCheck(live: false)
        XCTAssertEqual(p.take(), [], "carol's first check was for s2; the connection is on s3 now")
        p.answerSessionCheck(live: false)
        XCTAssertEqual(p.take(), ["unbind carol", "send session:ended ended"], "s3 ended before its answer bound it")
        XCTAssertTrue(p.forwards.isEmpty)
    }

    /// A check that finds the session gone ends it; one whose link is down at the bind ends
    /// it at once as unverified; a link that fails the check ends it as unverified.
    func testAGoneOrUnverifiableSessionEnds() {
        let p = SessionProbe()
        p.request(#"{"type":"login","request_id":"l1","username":"bob","password":"pw"}"#)
        p.answer("l1", authUserID: "bob", authSessionID: "s1")
        _ = p.take()
        p.answerSessionCheck(live: false)
        XCTAssertEqual(p.take(), ["unbind bob", "send session:ended ended"])

        p.request(#"{"type":"login","request_id":"l2","username":"bob","password":"pw"}"#)
        p.answer("l2", authUserID: "bob", authSessionID: "s2")
        _ = p.take()
        p.fail(SessionCheck.arg)
        XCTAssertEqual(p.take(), ["unbind bob", "send session:ended unverified"])

        p.request(#"{"type":"login","request_id":"l3","username":"bob","password":"pw"}"#)
        p.context.down[0] = true
        p.answer("l3", authUserID: "bob", authSessionID: "s3")
        XCTAssertEqual(p.take(), ["forward l3 to 0 as -", "pause", "bind bob", "send l3 ok", "unbind bob",
                                  "send session:ended unverified", "resume"])
    }

    /// A worker from before the check (a rolling restart) answers it `bad_request`: the session
    /// stays as it was before the check existed, and the gateway says so in its log.
    func testAnOlderWorkersAnswerKeepsTheSession() {
        let p = SessionProbe()
        p.request(#"{"type":"login","request_id":"l1","username":"bob","password":"pw"}"#)
        p.answer("l1", authUserID: "bob", authSessionID: "s1")
        _ = p.take()
        p.answerSessionCheck(json: Array(#"{"type":"session_check","status":"error","code":"bad_request","message":"unknown type"}"#.utf8))
        XCTAssertEqual(p.take(), ["log"], "logged, and neither unbound nor ended")
        XCTAssertEqual(p.session.userID, "bob")
    }
}
