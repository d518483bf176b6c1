// SessionTimingTests: every answer of a known request type is timed exactly once, from the moment its request was read (not released), and refusals that are not answers are not timed.
import TagarelaModel
@testable import TagarelaGateway
import XCTest

final class SessionTimingTests: XCTestCase {
    /// The `.answered` counters emitted since the last call, as (type, arrivedNs).
    private func timings(_ p: SessionProbe) -> [(RequestType, Int64)] {
        defer { _ = p.take() }
        return p.actions.compactMap {
            if case .count(.answered(let type, let arrivedNs)) = $0 { return (type, arrivedNs) }
            return nil
        }
    }

    func testAHeldRequestIsTimedFromItsArrival() {
        let p = SessionProbe()
        p.context.monotonicNs = 1_000
        p.request(#"{"type":"login","request_id":"l","username":"ana","password":"pw"}"#)
        p.context.monotonicNs = 2_000
        // Read while the login is in flight: held behind it, forwarded only after its answer.
        p.request(#"{"type":"typing","request_id":"t","chat_id":"d:ana:bia"}"#)
        XCTAssertTrue(timings(p).isEmpty, "nothing answered yet")
        p.context.monotonicNs = 9_000
        p.answer("l", authUserID: "ana", authSessionID: "s")
        let afterLogin = timings(p)
        XCTAssertEqual(afterLogin.count, 1)
        XCTAssertEqual(afterLogin.first?.0, .login)
        XCTAssertEqual(afterLogin.first?.1, 1_000)
        p.answer("t")
        let afterTyping = timings(p)
        XCTAssertEqual(afterTyping.map(\.0), [.typing])
        XCTAssertEqual(afterTyping.first?.1, 2_000, "from its read, not its release")
    }

    func testGatewayAnswersAreTimedAndNonAnswersAreNot() {
        let p = SessionProbe()
        p.context.monotonicNs = 5_000
        // Answered by the gateway: unauthenticated, and a field error of a known type.
        p.request(#"{"type":"typing","request_id":"t","chat_id":"c"}"#)
        p.request(#"{"type":"login","request_id":"x"}"#)
        // Not a known type: answered, but there is no type to file it under.
        p.request(#"{nope"#)
        let got = timings(p)
        XCTAssertEqual(got.map(\.0), [.typing, .login])
        XCTAssertEqual(got.map(\.1), [5_000, 5_000])
    }

    func testAFailedForwardIsTimedOnceAsItsUnavailableAnswer() {
        let p = SessionProbe()
        p.logIn("ana")
        p.context.monotonicNs = 7_000
        p.request(#"{"type":"typing","request_id":"t","chat_id":"d:ana:bia"}"#)
        p.fail("t")
        XCTAssertEqual(timings(p).map(\.0), [.typing])
    }
}
