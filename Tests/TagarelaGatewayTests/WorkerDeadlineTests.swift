// WorkerDeadlineTests: a worker that does not answer a request in time, or stops answering the link heartbeat, costs the client an `unavailable`, never an endless wait.
import Foundation
import XCTest
import TagarelaLink
import TestSupport
@testable import TagarelaGateway

final class WorkerDeadlineTests: GatewayTestCase {
    private let healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

    private func http(_ h: GatewayHarness, _ request: String) throws -> (status: Int, text: String) {
        let c = try h.client()
        c.send(request)
        let text = String(decoding: c.readToEOF(), as: UTF8.self)
        return (Int(text.dropFirst(9).prefix(3)) ?? 0, text)
    }

    func testARequestPastTheDeadlineIsUnavailableItsSlotFreedAndALateAnswerDropped() throws {
        let h = try start(workers: 1, configure: { c in c.limits.workerRequestTimeoutMs = 300 })
        let alice = try loggedIn(h, "alice")
        // The standard fake never answers get_messages: a worker that went silent on this request.
        alice.send("{\"type\":\"get_messages\",\"request_id\":\"g1\",\"chat_id\":\"c\"}\n")
        let reply = json(alice.readLine())
        XCTAssertEqual(reply?["request_id"]?.string, "g1", "answered by the deadline: \(String(describing: reply))")
        XCTAssertEqual(reply?["type"]?.string, "get_messages")
        XCTAssertEqual(reply?["code"]?.string, "unavailable")
        XCTAssertEqual(onLoop(h) { $0.links[0].inFlight }, 0, "the in-flight slot is free again")
        XCTAssertEqual(samples(metricsText(h))["tagarela_worker_request_timeouts_total{worker=\"0\"}"], 1)

        // The worker wakes up and answers after all: the answer has no one waiting and is dropped,
        // and the connection goes on with its next request.
        XCTAssertEqual(h.workers[0].answerUnanswered(with: { r in
            LinkReply(requestID: r.requestID, json: Canned.ok(r, extra: "\"late\":true"))
        }), 1)
        alice.send("{\"type\":\"typing\",\"request_id\":\"t1\",\"chat_id\":\"c\"}\n")
        let next = json(alice.readLine())
        XCTAssertEqual(next?["request_id"]?.string, "t1", "no second answer to g1: \(String(describing: next))")
        XCTAssertEqual(next?["status"]?.string, "ok")
    }

    func testAScatterPartPastTheDeadlineFailsTheWholeRequestOnce() throws {
        let h = try start(workers: 2, configure: { c in c.limits.workerRequestTimeoutMs = 300 })
        // Worker 1 never answers its part of get_user_chats; worker 0 does.
        h.workers[1].setResponder { r in
            Canned.field("type", in: String(decoding: r.json, as: UTF8.self)) == "user_chats" ? nil : GatewayHarness.standardReply(r)
        }
        let alice = try loggedIn(h, "alice")
        alice.send("{\"type\":\"get_user_chats\",\"request_id\":\"u1\"}\n")
        let reply = json(alice.readLine())
        XCTAssertEqual(reply?["request_id"]?.string, "u1")
        XCTAssertEqual(reply?["code"]?.string, "unavailable", "\(String(describing: reply))")
        XCTAssertEqual(onLoop(h) { $0.links.map(\.inFlight) }, [0, 0])
        XCTAssertEqual(h.workers[1].answerUnanswered(with: GatewayHarness.standardReply), 1)
        alice.send("{\"type\":\"typing\",\"request_id\":\"t1\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(alice.readLine())?["request_id"]?.string, "t1", "exactly one answer to u1")
    }

    func testAWorkerThatMissesItsHeartbeatIsListedUnresponsiveAndFailsFastUntilItAnswersAgain() throws {
        let h = try start(workers: 1, configure: { c in
            c.limits.workerHeartbeatIntervalMs = 50
            c.limits.workerHeartbeatTimeoutMs = 300
        })
        let alice = try loggedIn(h, "alice")
        XCTAssertTrue(try http(h, healthz).text.contains("\"unresponsive_workers\":[]"))

        // The worker stops reading its links (as a SIGSTOPped process does): no more pongs.
        h.workers[0].setReadingPaused(true)
        var health: (status: Int, text: String) = (0, "")
        XCTAssertTrue(waitUntil {
            health = (try? self.http(h, self.healthz)) ?? (0, "")
            return health.text.contains("\"unresponsive_workers\":[0]")
        }, "listed unresponsive: \(health.text)")
        XCTAssertEqual(health.status, 503)

        // A new request for it is answered at once, not after the 10 s request deadline (the
        // client gives up after 3 s).
        alice.send("{\"type\":\"typing\",\"request_id\":\"t1\",\"chat_id\":\"c\"}\n")
        let reply = json(alice.readLine())
        XCTAssertEqual(reply?["request_id"]?.string, "t1")
        XCTAssertEqual(reply?["code"]?.string, "unavailable", "\(String(describing: reply))")

        // It answers again: the link is trusted again without a reconnect.
        h.workers[0].setReadingPaused(false)
        XCTAssertTrue(waitUntil { (try? self.http(h, self.healthz).status) == 200 }, "healthy again")
        alice.send("{\"type\":\"typing\",\"request_id\":\"t2\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(alice.readLine())?["status"]?.string, "ok")
    }

    /// /healthz speaks for every loop, whichever took the request: with one loop's link to the
    /// worker down (as while it reconnects after a restart), every answer is 503 naming it, so
    /// 200 means a new connection is served whichever loop it lands on.
    func testHealthzIsUnavailableWhileAnyLoopsLinkIsDown() throws {
        let h = try start(workers: 1, loops: 2)
        XCTAssertEqual(try http(h, healthz).status, 200)
        // Loop 1's link will stay down; loop 0's reconnects.
        onLoop(h, 1) { $0.links[0].stopped = true }
        h.workers[0].dropLinks()
        h.waitForLinks(loops: 1)
        XCTAssertTrue(waitUntil { self.onLoop(h, 0) { $0.links[0].isUp } })
        XCTAssertFalse(onLoop(h, 1) { $0.links[0].isUp })
        // New connections spread over both loops (SO_REUSEPORT): each answer is the whole gateway's.
        for _ in 0..<16 {
            let answer = try http(h, healthz)
            XCTAssertEqual(answer.status, 503, answer.text)
            XCTAssertTrue(answer.text.contains("\"down_workers\":[0]"), answer.text)
        }
    }

    /// A loop that does not answer (stuck in a turn) cannot hold /healthz open for ever: past
    /// twice the health timeout the asking loop answers with every worker down (503), since no
    /// connection on the stuck loop is being served.
    func testHealthzAnswersWhenALoopIsStuck() throws {
        let h = try start(workers: 1, loops: 2, configure: { $0.healthTimeoutMs = 200 })
        let stuck = DispatchSemaphore(value: 0)
        h.gateway.loops[1].eventLoop.execute { _ = stuck.wait(timeout: .now() + 20) }
        defer { stuck.signal() }
        let answered = DispatchSemaphore(value: 0)
        let result = Locked<[Int]?>(nil)
        let asking = h.gateway.loops[0]
        asking.eventLoop.execute {
            asking.checkHealth { down, _ in
                result.value = down
                answered.signal()
            }
        }
        XCTAssertEqual(answered.wait(timeout: .now() + 10), .success, "/healthz waited for the stuck loop")
        XCTAssertEqual(result.value, [0])
    }
}
