// WorkerLinkTests: a WorkerLink over a fake carrier: its request bookkeeping, deadlines, heartbeat and backpressure need no socket.
import XCTest
import TagarelaEventLoop
import TagarelaLink
@testable import TagarelaGateway

/// A carrier that keeps what is sent and delivers what the test says.
final class FakeLinkTransport: LinkTransport {
    weak var delegate: LinkTransportDelegate?
    var isConnected = false
    var queuedBytes = 0
    var refusesConnect = false
    private(set) var sent: [LinkFrame] = []

    func connect() -> Bool {
        guard !refusesConnect else { return false }
        isConnected = true
        delegate?.transportConnected()
        return true
    }

    func send(_ frames: [UInt8]) {
        var decoder = LinkDecoder(maxFrameBytes: 1 << 20)
        try? frames.withUnsafeBytes { try decoder.feed($0) { sent.append($0) } }
    }

    func flushPromptly() {}

    func close() {
        isConnected = false
        delegate?.transportClosed()
    }

    /// The worker sends `frames` in one read.
    func deliver(_ frames: [LinkFrame]) {
        for frame in frames { delegate?.transportReceived(frame) }
        delegate?.transportDeliveredBatch()
    }
}

/// The loop and the clients as a link sees them: what it answered, failed and delivered.
final class LinkRecorder: WorkerLinkDelegate, LinkRequester, LinkWaiter {
    var log: [String] = []

    func link(_ link: WorkerLink, answered pending: PendingReply, with reply: LinkReply) {
        pending.requester.drive(.reply(pending.tag, reply))
    }
    func link(_ link: WorkerLink, failed pending: PendingReply) { pending.requester.drive(.failed(pending.tag)) }
    func link(_ link: WorkerLink, delivers events: [LinkEvent]) { log.append("events \(events.count)") }
    func link(_ link: WorkerLink, lateReply reply: LinkReply) {
        log.append("late \(reply.requestID)" + (reply.endSessionID.isEmpty ? "" : " ends \(reply.endUserID) \(reply.endSessionID)"))
    }
    func subscribedUsers() -> [String] { ["alice"] }
    func linkResubscribed(_ link: WorkerLink) {}

    func drive(_ event: SessionEvent) {
        switch event {
        case .reply(.answer(let label), _): log.append("answered \(label.requestID ?? "?")")
        case .failed(.answer(let label)): log.append("failed \(label.requestID ?? "?")")
        default: log.append("other")
        }
    }
    func linkDrained() { log.append("drained") }

    func take() -> [String] {
        defer { log = [] }
        return log
    }
}

final class WorkerLinkTests: XCTestCase {
    func makeLink(_ transport: FakeLinkTransport, _ recorder: LinkRecorder, _ eventLoop: EventLoop) -> WorkerLink {
        let settings = WorkerLinkSettings(loopIndex: 0, inFlightMax: 2, queueBusyBytes: 1 << 20, requestTimeoutMs: 1_000,
                                          heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500, reconnectMinMs: 10,
                                          reconnectMaxMs: 100, log: { _ in })
        return WorkerLink(worker: 0, transport: transport, address: "fake", settings: settings,
                          eventLoop: eventLoop, delegate: recorder)
    }

    func request(_ id: UInt64) -> LinkRequest {
        LinkRequest(requestID: id, connectionID: 7, json: Array("{\"type\":\"typing\",\"request_id\":\"t\(id)\"}".utf8))
    }

    func testRequestsAreAnsweredFailedAtTheirDeadlineAndFailedWhenTheCarrierCloses() throws {
        let eventLoop = try EventLoop()
        let transport = FakeLinkTransport()
        let recorder = LinkRecorder()
        let link = makeLink(transport, recorder, eventLoop)
        link.connect()
        XCTAssertEqual(transport.sent, [.subscribe(["alice"])], "a fresh link first subscribes every user the loop holds")

        let start = eventLoop.nowMs
        for id: UInt64 in [1, 2] {
            link.send(request(id), PendingReply(requester: recorder, tag: .answer(RequestLabel(type: "typing", requestID: "t\(id)"))))
        }
        XCTAssertTrue(link.isBusy, "two in flight is the bound")
        link.addWaiter(recorder)

        transport.deliver([.reply(LinkReply(requestID: 1, json: [])), .events([LinkEvent(userIDs: ["alice"], json: [])])])
        XCTAssertEqual(recorder.take(), ["answered t1", "events 1", "drained"], "half the bound free: waiters resume")
        XCTAssertEqual(link.inFlight, 1)

        link.tick(nowMs: start + 999)
        XCTAssertEqual(recorder.take(), [])
        link.tick(nowMs: start + 1_000)
        XCTAssertEqual(recorder.take(), ["failed t2"], "past its deadline")
        XCTAssertEqual(link.stats.requestTimeouts, 1)
        // A late answer is not the client's any more (it was told `unavailable`), but the loop
        // still gets what it changed: a logout_all that ran must end the user's sessions.
        transport.deliver([.reply(LinkReply(requestID: 2, json: [], endSessionID: "*", endUserID: "alice"))])
        XCTAssertEqual(recorder.take(), ["late 2 ends alice *"], "a late answer goes to the loop, not the client")

        link.send(request(3), PendingReply(requester: recorder, tag: .answer(RequestLabel(type: "typing", requestID: "t3"))))
        transport.close()
        XCTAssertEqual(recorder.take(), ["failed t3"], "the carrier closed: what was in flight is unavailable")
        XCTAssertFalse(link.isUp)
        XCTAssertEqual(link.inFlight, 0)
    }

    func testAMissedHeartbeatMakesTheLinkUnresponsiveUntilItsPong() throws {
        let eventLoop = try EventLoop()
        let transport = FakeLinkTransport()
        let recorder = LinkRecorder()
        let link = makeLink(transport, recorder, eventLoop)
        link.connect()
        let start = eventLoop.nowMs
        link.tick(nowMs: start + 100)
        guard case .ping(let nonce)? = transport.sent.last else { return XCTFail("a heartbeat ping: \(transport.sent)") }
        link.tick(nowMs: start + 599)
        XCTAssertTrue(link.isUp)
        link.tick(nowMs: start + 600)
        XCTAssertFalse(link.isUp, "no pong within the heartbeat timeout")
        XCTAssertTrue(link.isUnresponsive)
        transport.deliver([.pong(nonce)])
        XCTAssertTrue(link.isUp, "the pong makes it trusted again")
    }
}
