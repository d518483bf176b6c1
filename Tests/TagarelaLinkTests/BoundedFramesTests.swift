// BoundedFramesTests: LinkCodec.encodeBounded keeps every frame within the bound and loses no event.
import TagarelaLink
import XCTest

final class BoundedFramesTests: XCTestCase {
    func event(_ n: Int, bytes: Int) -> LinkEvent {
        LinkEvent(userIDs: ["u\(n)", "v\(n)"], excludeConnectionID: UInt64(n), json: [UInt8](repeating: UInt8(n), count: bytes))
    }

    func decodeAll(_ bytes: [UInt8], max: Int) throws -> [LinkFrame] {
        var decoder = LinkDecoder(maxFrameBytes: max)
        var frames: [LinkFrame] = []
        try decoder.feed(bytes) { frames.append($0) }
        return frames
    }

    func testARepliesEventsAreSplitAcrossFramesInOrder() throws {
        let events = (0..<10).map { event($0, bytes: 1000) }
        let reply = LinkReply(requestID: 5, json: Array(#"{"status":"ok"}"#.utf8), authUserID: "ana", events: events)
        let one = LinkCodec.eventBytes(events[0])
        for max in [LinkCodec.replyBodyBytes(reply) + one, 1 + 4 + one, 2500, 5000, 1 << 20] {
            var out: [UInt8] = []
            var dropped = 0
            XCTAssertTrue(LinkCodec.encodeBounded(reply, frameBytesMax: max, into: &out, droppedEvents: &dropped))
            let frames = try decodeAll(out, max: max)
            guard case .reply(let head) = frames.first else { return XCTFail("the reply comes first") }
            XCTAssertEqual(head.json, reply.json)
            XCTAssertEqual(head.authUserID, "ana")
            var all = head.events
            for frame in frames.dropFirst() {
                guard case .events(let more) = frame else { return XCTFail("then events frames") }
                all += more
            }
            XCTAssertEqual(all, events, "max \(max)")
            XCTAssertEqual(dropped, 0)
            if max >= 1 << 20 { XCTAssertEqual(frames.count, 1, "one frame when it fits") }
        }
    }

    func testReplyOrEventTooLargeForAnyFrame() throws {
        let reply = LinkReply(requestID: 1, json: [UInt8](repeating: 32, count: 500), events: [event(1, bytes: 3000), event(2, bytes: 10)])
        var out: [UInt8] = []
        var dropped = 0
        XCTAssertFalse(LinkCodec.encodeBounded(reply, frameBytesMax: 400, into: &out, droppedEvents: &dropped))
        XCTAssertTrue(out.isEmpty, "nothing half-written")
        XCTAssertTrue(LinkCodec.encodeBounded(reply, frameBytesMax: 1000, into: &out, droppedEvents: &dropped))
        XCTAssertEqual(dropped, 1, "the event no frame can hold is left out")
        let frames = try decodeAll(out, max: 1000)
        guard case .reply = frames.first else { return XCTFail() }
        let sent = frames.flatMap { frame -> [LinkEvent] in
            switch frame {
            case .reply(let r): return r.events
            case .events(let e): return e
            default: return []
            }
        }
        XCTAssertEqual(sent.map(\.excludeConnectionID), [2])
    }
}
