// PollerTests: the loop's poller interface speaks Readiness, and the epoll backend translates it both ways.
import TagarelaSystem
@testable import TagarelaEventLoop
import XCTest

final class PollerTests: XCTestCase {
    func testEpollBackendReportsReadinessInTheLoopsTerms() throws {
        let poller = try makePoller(capacity: 8)
        defer { poller.close() }
        let event = try EventFD()
        try poller.add(event.fd, events: .readable, token: 0x42)
        XCTAssertEqual(try poller.wait(timeoutMs: 0), 0, "nothing signalled yet")

        event.signal()
        XCTAssertEqual(try poller.wait(timeoutMs: 5000), 1)
        XCTAssertEqual(poller.event(at: 0).token, 0x42)
        XCTAssertEqual(poller.event(at: 0).events, .readable)

        try poller.modify(event.fd, events: [.readable, .writable], token: 0x43)
        XCTAssertEqual(try poller.wait(timeoutMs: 0), 1)
        XCTAssertEqual(poller.event(at: 0).token, 0x43)
        XCTAssertEqual(poller.event(at: 0).events, [.readable, .writable], "an eventfd is always writable")

        try poller.remove(event.fd)
        XCTAssertEqual(try poller.wait(timeoutMs: 0), 0)
    }

    func testTranslationCoversEveryBitBothWays() {
        XCTAssertEqual(EpollPoller.interest([.readable, .writable]), [.readable, .writable])
        XCTAssertEqual(EpollPoller.interest([.error, .hangup]), [], "errors and hang-ups are never asked for")
        XCTAssertEqual(EpollPoller.readiness([.readable, .writable, .error, .hangup]), [.readable, .writable, .error, .hangup])
        XCTAssertEqual(EpollPoller.readiness([.readHangup, .edgeTriggered]), [], "bits the loop never asks for")
    }
}
