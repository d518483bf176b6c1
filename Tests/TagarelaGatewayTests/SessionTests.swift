// SessionTests: a gateway Session driven without sockets: identity ordering, session ends, backpressure, scatter-gather with a shard down, the abuse close.
import XCTest
import TagarelaLink
import TagarelaModel
@testable import TagarelaGateway

final class SessionTests: XCTestCase {
    func typing(_ id: String) -> String { #"{"type":"typing","request_id":"\#(id)","chat_id":"c"}"# }

    func login(_ user: String, _ id: String) -> String {
        #"{"type":"login","request_id":"\#(id)","username":"\#(user)","password":"pw"}"#
    }

    // MARK: - Identity ordering

    func testPipelinedRequestsWaitForTheIdentityRequestBeforeThemAndRunAsItsUser() {
        let p = SessionProbe()
        p.request(#"{"type":"register","request_id":"r1","username":"bob","password":"pw"}"#)
        p.request(login("bob", "l1"))
        p.request(typing("t1"))
        XCTAssertEqual(p.take(), ["forward r1 to 0 as -", "pause"], "the rest of the read waits")
        XCTAssertEqual(p.session.heldCount, 2)

        p.answer("r1")
        XCTAssertEqual(p.take(), ["send r1 ok", "forward l1 to 0 as -"], "the login goes next, and holds the rest again")
        p.answer("l1", authUserID: "bob", authSessionID: "s1")
        XCTAssertEqual(p.take(), ["bind bob", "send l1 ok", "forward session_check to 0 as bob", "forward t1 to 0 as bob", "resume"])
        XCTAssertEqual(p.session.heldCount, 0)
    }

    func testOnlyTheIdentityRequestsOwnAnswerReleasesWhatWaitsBehindIt() {
        let p = SessionProbe()
        p.logIn("bob")
        p.request(typing("t1"))
        p.request(login("carol", "l2"))
        p.request(typing("t2"))
        XCTAssertEqual(p.take(), ["forward t1 to 0 as bob", "forward l2 to 0 as bob", "pause"])

        p.answer("t1")
        XCTAssertEqual(p.take(), ["send t1 ok"], "an earlier request's answer must not let t2 run as bob")
        XCTAssertEqual(p.session.heldCount, 1)
        p.answer("l2", authUserID: "carol", authSessionID: "s2")
        XCTAssertEqual(p.take(), ["bind carol replacing bob", "send l2 ok", "forward session_check to 0 as carol",
                                  "forward t2 to 0 as carol", "resume"])

        // An identity request that fails (its link dropped) releases what waits, as the old user.
        p.request(login("dan", "l3"))
        p.request(typing("t3"))
        XCTAssertEqual(p.take(), ["forward l3 to 0 as carol", "pause"])
        p.fail("l3")
        XCTAssertEqual(p.take(), ["send l3 unavailable", "forward t3 to 0 as carol", "resume"])
    }

    // MARK: - Session ends

    func testALogoutEndsItsSessionOnTheOtherConnectionsOfItOnly() {
        let a = SessionProbe(), b = SessionProbe(), c = SessionProbe()
        a.logIn("alice", session: "s1")
        b.logIn("alice", session: "s1")
        c.logIn("alice", session: "s2")

        a.request(#"{"type":"logout","request_id":"o1"}"#)
        XCTAssertEqual(a.take(), ["forward o1 to 0 as alice", "pause"])
        a.answer("o1", endSessionID: "s1")
        XCTAssertEqual(a.take(), ["unbind alice", "end alice s1 logout", "send o1 ok", "resume"])
        XCTAssertEqual(a.session.userID, "")

        // The loop tells every other connection of alice; each decides whether it was s1.
        b.receive(.sessionEnded(sessionID: "s1", reason: "logout"))
        XCTAssertEqual(b.take(), ["unbind alice", "send session:ended logout"])
        c.receive(.sessionEnded(sessionID: "s1", reason: "logout"))
        XCTAssertEqual(c.take(), [], "another session of the same user stays")
        XCTAssertEqual(c.session.userID, "alice")
        b.request(typing("t1"))
        XCTAssertEqual(b.take(), ["send t1 unauthenticated"])

        // logout_all ends every session; change_password too, but keeps its own connection bound.
        c.receive(.sessionEnded(sessionID: SessionScope.everySession, reason: "logout_all"))
        XCTAssertEqual(c.take(), ["unbind alice", "send session:ended logout_all"])
        a.logIn("alice", session: "s3")
        a.request(#"{"type":"change_password","request_id":"p1","old_password":"pw","new_password":"pw2"}"#)
        XCTAssertEqual(a.take(), ["forward p1 to 0 as alice", "pause"])
        a.answer("p1", authUserID: "alice", authSessionID: "s4", endSessionID: SessionScope.everySession)
        XCTAssertEqual(a.take(), ["end alice * password_changed", "send p1 ok",
                                  "forward session_check to 0 as alice", "resume"])
        XCTAssertEqual(a.session.sessionID, "s4")
    }

    /// Issue 8 review: a client that sends logout_all and closes at once (a "log out everywhere"
    /// button) is gone, and has forgotten its user, when the answer comes; the user's other
    /// sessions must end all the same, from the user the worker names.
    func testALogoutAllAnsweredAfterItsConnectionClosedStillEndsEverySession() {
        let a = SessionProbe()
        a.logIn("alice", session: "s1")
        a.request(#"{"type":"logout_all","request_id":"o1"}"#)
        XCTAssertEqual(a.take(), ["forward o1 to 0 as alice", "pause"])
        a.context.isClosed = true
        a.receive(.ending)
        XCTAssertEqual(a.take(), ["unbind alice"])
        a.answer("o1", endSessionID: SessionScope.everySession, endUserID: "alice")
        XCTAssertTrue(a.take().contains("end alice * logout_all"), "the other connections of alice end")
    }

    /// A login carries the client's address to the shard, whose password throttle counts
    /// failures per account and address (PROTOCOL.md 3.2); nothing else does.
    func testALoginCarriesTheClientsAddressForThePasswordThrottle() {
        let a = SessionProbe()
        a.request(#"{"type":"login","request_id":"l1","username":"alice","password":"pw"}"#)
        XCTAssertEqual(a.forwards.last?.request.arg, "192.0.2.7")
        a.answer("l1", authUserID: "alice", authSessionID: "s1")
        a.request(typing("t1"))
        XCTAssertEqual(a.forwards.last?.request.arg, "")
    }

    // MARK: - Backpressure

    func testABusyLinkPausesReadingAndOnlyItsDrainReleasesWhatWasReadPastIt() {
        let p = SessionProbe()
        p.logIn("alice")
        p.context.inFlightMax = 2
        for i in 1...5 { p.request(typing("t\(i)")) }
        XCTAssertEqual(p.take(), ["forward t1 to 0 as alice", "forward t2 to 0 as alice", "pause", "park 0"])
        XCTAssertTrue(p.session.pausedForLink)
        XCTAssertEqual(p.session.heldCount, 3)

        p.answer("t1")
        XCTAssertEqual(p.take(), ["send t1 ok"], "an answer does not release a parked client; the link's drain does")
        p.receive(.linkDrained)
        XCTAssertEqual(p.take(), ["forward t3 to 0 as alice", "park 0"], "the link is full again after one more")
        p.answer("t2")
        p.answer("t3")
        p.receive(.linkDrained)
        XCTAssertEqual(p.take(), ["send t2 ok", "send t3 ok", "forward t4 to 0 as alice", "forward t5 to 0 as alice", "park 0"])
        p.answer("t4")
        p.answer("t5")
        p.receive(.linkDrained)
        XCTAssertEqual(p.take(), ["send t4 ok", "send t5 ok", "resume"], "nothing waits: reading resumes")
        p.receive(.linkDrained)
        XCTAssertEqual(p.take(), [], "a drain for a session that no longer waits does nothing")
    }

    // MARK: - Scatter-gather

    func testAScatterWithAShardDownOrAPartPastItsDeadlineIsAnsweredUnavailableOnce() {
        let p = SessionProbe(workers: 3)
        p.logIn("alice")
        p.context.down[1] = true
        p.request(#"{"type":"get_user_chats","request_id":"u1"}"#)
        XCTAssertEqual(p.take(), ["forward user_chats to 0 as alice", "forward user_chats to 2 as alice"])
        XCTAssertEqual(p.session.plans.count, 1)
        p.answer("user_chats", shard: 0, extra: #""chats":[]"#)
        XCTAssertEqual(p.take(), [], "it waits for every part it sent")
        p.answer("user_chats", shard: 2, extra: #""chats":[]"#)
        XCTAssertEqual(p.take(), ["send u1 unavailable"])
        XCTAssertEqual(p.session.plans.count, 0)

        // Every shard up, but one part's deadline passes (the link fails it): one unavailable.
        p.context.down[1] = false
        p.request(#"{"type":"get_user_chats","request_id":"u2"}"#)
        XCTAssertEqual(p.take().count, 3)
        p.answer("user_chats", shard: 0, extra: #""chats":[]"#)
        p.fail("user_chats", shard: 2)
        XCTAssertEqual(p.take(), [])
        p.answer("user_chats", shard: 1, extra: #""chats":[]"#)
        XCTAssertEqual(p.take(), ["send u2 unavailable"])

        // All three answer: one merged answer.
        p.request(#"{"type":"get_user_chats","request_id":"u3"}"#)
        _ = p.take()
        for shard in 0..<3 { p.answer("user_chats", shard: shard, extra: #""chats":[]"#) }
        XCTAssertEqual(p.take(), ["send u3 ok"])
        XCTAssertEqual(p.session.unanswered, 0)
    }

    func testAWriteWhoseUserCheckMeetsAShardDownIsNeverSent() {
        let p = SessionProbe(workers: 3)
        p.logIn("alice")
        let bobShard = Slots.worker(for: "bob", workers: 3)
        p.context.down[bobShard] = true
        p.request(#"{"type":"create_chat","request_id":"c1","user_id":"bob"}"#)
        XCTAssertEqual(p.take(), ["send c1 unavailable"])
        p.context.down[bobShard] = false
        p.request(#"{"type":"create_chat","request_id":"c2","user_id":"bob"}"#)
        XCTAssertEqual(p.take(), ["forward users_exist to \(bobShard) as alice"])
        p.answer("users_exist", extra: #""missing":[]"#)
        let chatShard = Slots.worker(for: DirectChatID.make("alice", "bob"), workers: 3)
        XCTAssertEqual(p.take(), ["forward c2 to \(chatShard) as alice"], "the checks passed: the write goes")
    }

    // MARK: - Abuse close

    /// Alice logged in with `burst` requests at once, then one a second, and closed at her second
    /// rate_limited error.
    private func abuser(burst: Int) -> SessionProbe {
        let p = SessionProbe { l in
            l.requestBurst = burst
            l.requestsPerSecond = 1
            l.rateLimitedErrorsMax = 1
        }
        p.logIn("alice")
        return p
    }

    func testAnAbuserIsClosedOnlyOnceTheAnswersItWasLetThroughAreOut() {
        let p = abuser(burst: 3)
        p.request(typing("t1"))
        p.request(typing("t2"))
        _ = p.take()
        p.request(typing("t3"))
        XCTAssertEqual(p.take(), ["send t3 rate_limited"])
        p.request(typing("t4"))
        XCTAssertEqual(p.take(), ["send t4 rate_limited", "pause"], "closing: reading stops, t1 and t2 are owed")
        p.request(typing("t5"))
        XCTAssertEqual(p.take(), [], "nothing after the request that crossed the line is handled")
        XCTAssertEqual(p.session.unanswered, 2)

        p.answer("t1")
        XCTAssertEqual(p.take(), ["send t1 ok"])
        p.answer("t2")
        XCTAssertEqual(p.take(), ["send t2 ok", "unbind alice", "close 1008"])
    }

    func testAnAbuserWhoseAnswersDoNotComeIsClosedAtTheDeadline() {
        let p = abuser(burst: 2)
        p.request(typing("t1"))
        p.request(typing("x1"))
        p.request(typing("x2"))
        XCTAssertEqual(p.take(), ["forward t1 to 0 as alice", "send x1 rate_limited", "send x2 rate_limited", "pause"])
        XCTAssertTrue(p.session.isWaitingToClose)

        p.context.nowMs += p.context.settings.limits.closingAnswersWaitMs - 1
        p.receive(.tick)
        XCTAssertEqual(p.take(), [])
        p.context.nowMs += 1
        p.receive(.tick)
        XCTAssertEqual(p.take(), ["unbind alice", "close 1008"])
        p.answer("t1")
        XCTAssertEqual(p.take(), ["send t1 ok"], "a late answer closes nothing twice")
    }
}
