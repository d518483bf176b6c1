// RateLimitCloseTests: a connection closed for ignoring rate_limited first gets the answers to the requests it was let through, on both transports, within a bounded wait.
import Foundation
import XCTest
import TagarelaJSON
import TagarelaLink
@testable import TagarelaGateway

final class RateLimitCloseTests: GatewayTestCase {
    /// The fake worker keeps every `message` unanswered until the test releases them.
    func startHoldingMessages(waitMs: Int64 = 10_000) throws -> GatewayHarness {
        try start(workers: 1, respond: { r in
            Canned.field("type", in: String(decoding: r.json, as: UTF8.self)) == "message" ? nil : GatewayHarness.standardReply(r)
        }, configure: { c in
            // The login and five messages pass; the next four are refused, and the fourth refusal
            // is one past the three strikes allowed: the close.
            c.limits.requestsPerSecond = 1
            c.limits.requestBurst = 6
            c.limits.rateLimitedErrorsMax = 3
            c.limits.closingAnswersWaitMs = waitMs
            c.limits.closeHandshakeTimeoutMs = 500
        })
    }

    /// Five messages that pass (six if a token refilled meanwhile), four that do not, and at
    /// least one more after the close decision.
    func flood() -> [String] {
        (0..<12).map { "{\"type\":\"message\",\"request_id\":\"m\($0)\",\"chat_id\":\"c\",\"content\":\"x\"}" }
    }

    /// The ids refused (the four `rate_limited` answers, read with `next`) and the ids let
    /// through: those before the last refusal that were not refused; nothing after it is taken.
    func refusals(_ next: () -> JSON?) -> (refused: [String], letThrough: [String]) {
        var refused: [String] = []
        while refused.count < 4, let reply = next() {
            XCTAssertEqual(reply["code"]?.string, "rate_limited", "\(reply)")
            refused.append(reply["request_id"]?.string ?? "")
        }
        let ids = (0..<12).map { "m\($0)" }
        let cut = refused.last.flatMap { ids.firstIndex(of: $0) } ?? 0
        return (refused, ids[..<cut].filter { !refused.contains($0) })
    }

    func messagesForwarded(_ h: GatewayHarness) -> [String] {
        h.workers[0].requests.compactMap { r in
            let text = String(decoding: r.json, as: UTF8.self)
            return Canned.field("type", in: text) == "message" ? Canned.field("request_id", in: text) : nil
        }
    }

    func testNDJSONAbuserGetsEveryAcceptedAnswerThenTheClose() throws {
        let h = try startHoldingMessages()
        let c = try loggedIn(h, "alice")
        c.send(flood().joined(separator: "\n") + "\n")
        let (refused, letThrough) = refusals { json(c.readLine()) }
        XCTAssertEqual(refused.count, 4)
        XCTAssertGreaterThanOrEqual(letThrough.count, 5, "the burst")
        XCTAssertTrue(waitUntil { h.workers[0].unansweredCount() == letThrough.count })
        XCTAssertEqual(messagesForwarded(h), letThrough, "nothing after the close decision is forwarded")
        XCTAssertTrue(c.isOpen(), "the connection waits for the answers it is owed")
        XCTAssertEqual(h.workers[0].answerUnanswered(with: GatewayHarness.standardReply), letThrough.count)
        for id in letThrough {
            let answer = json(c.readLine())
            XCTAssertEqual(answer?["request_id"]?.string, id)
            XCTAssertEqual(answer?["status"]?.string, "ok")
        }
        XCTAssertTrue(c.waitForClose(), "then the close")
    }

    func testWebSocketAbuserGetsEveryAcceptedAnswerThenClose1008() throws {
        let h = try startHoldingMessages()
        let c = try h.client()
        XCTAssertTrue(c.upgrade()?.hasPrefix("HTTP/1.1 101") ?? false)
        c.sendText("{\"type\":\"login\",\"request_id\":\"l\",\"username\":\"alice\",\"password\":\"s\"}")
        XCTAssertEqual(json(c.readText())?["status"]?.string, "ok")
        for text in flood() { c.sendText(text) }
        let (refused, letThrough) = refusals { json(c.readText()) }
        XCTAssertEqual(refused.count, 4)
        XCTAssertTrue(waitUntil { h.workers[0].unansweredCount() == letThrough.count })
        XCTAssertEqual(h.workers[0].answerUnanswered(with: GatewayHarness.standardReply), letThrough.count)
        for id in letThrough {
            let frame = c.readFrame()
            XCTAssertEqual(frame?.opcode, 0x1, "an answer, not the close, comes first")
            let answer = frame.flatMap { try? JSON.parse($0.payload) }
            XCTAssertEqual(answer?["request_id"]?.string, id)
        }
        let close = c.readFrame()
        XCTAssertEqual(close?.opcode, 0x8)
        XCTAssertEqual(close.map { UInt16($0.payload[0]) << 8 | UInt16($0.payload[1]) }, 1008)
        XCTAssertEqual(messagesForwarded(h), letThrough)
    }

    func testTheWaitForAnswersIsBounded() throws {
        let h = try startHoldingMessages(waitMs: 200)
        let c = try loggedIn(h, "alice")
        c.send(flood().joined(separator: "\n") + "\n")
        let (refused, letThrough) = refusals { json(c.readLine()) }
        XCTAssertEqual(refused.count, 4)
        // The worker never answers: the connection is closed anyway once the wait is over.
        XCTAssertTrue(c.waitForClose())
        XCTAssertEqual(h.workers[0].unansweredCount(), letThrough.count)
    }
}
