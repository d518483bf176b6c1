// BusFramingTests: link frames split into bus messages under max_payload and joined back, parts lost on the way.
@testable import TagarelaBus
import TagarelaLink
import XCTest

final class BusFramingTests: XCTestCase {
    private func frames(_ list: [LinkFrame]) -> [UInt8] {
        var out: [UInt8] = []
        for f in list { LinkCodec.encode(f, into: &out) }
        return out
    }

    private func decode(_ bytes: [UInt8]) throws -> [LinkFrame] {
        var decoder = LinkDecoder(maxFrameBytes: 1 << 24)
        var got: [LinkFrame] = []
        try decoder.feed(bytes) { got.append($0) }
        XCTAssertEqual(decoder.bufferedBytes, 0, "a message ended inside a frame")
        return got
    }

    func testSmallBatchIsOneMessage() throws {
        let bytes = frames([.ping(1), .pong(2)])
        XCTAssertEqual(BusFraming.split(bytes, maxPayload: 1 << 20), [BusFraming.Message(payload: bytes, part: nil)])
    }

    /// Every message stays under max_payload; whole frames never straddle messages; a frame
    /// larger than a message comes back whole from its parts.
    func testLargeFramesAreCutIntoPartsAndJoined() throws {
        let big = LinkFrame.request(LinkRequest(requestID: 7, connectionID: 1, json: Array(repeating: 0x61, count: 10_000)))
        let list: [LinkFrame] = [.ping(1), big, .subscribe(["a", "b"]), .ping(2)]
        let maxPayload = 2048
        let messages = BusFraming.split(frames(list), maxPayload: maxPayload)
        XCTAssertGreaterThan(messages.count, 3)
        XCTAssertTrue(messages.allSatisfy { $0.payload.count <= maxPayload - BusFraming.headerRoom })
        var joiner = BusFraming.Joiner(bytesMax: 1 << 20)
        var got: [LinkFrame] = []
        for m in messages {
            if let whole = joiner.accept(m.payload, part: m.part) { got += try decode(whole) }
        }
        XCTAssertEqual(got, list)
    }

    /// A part lost (a reconnection) loses its frame, not the frames after it.
    func testMissingPartDropsOnlyItsFrame() throws {
        let big = LinkFrame.request(LinkRequest(requestID: 7, connectionID: 1, json: Array(repeating: 0x62, count: 5000)))
        let messages = BusFraming.split(frames([big, .ping(9)]), maxPayload: 2048)
        var joiner = BusFraming.Joiner(bytesMax: 1 << 20)
        var got: [LinkFrame] = []
        for (i, m) in messages.enumerated() where i != 1 {
            if let whole = joiner.accept(m.payload, part: m.part) { got += try decode(whole) }
        }
        XCTAssertEqual(got, [.ping(9)])
    }

    /// Parts cannot add up past the receiver's frame bound.
    func testJoinedFrameIsBounded() {
        var joiner = BusFraming.Joiner(bytesMax: 100)
        XCTAssertNil(joiner.accept(Array(repeating: 0, count: 80), part: "0/2"))
        XCTAssertNil(joiner.accept(Array(repeating: 0, count: 80), part: "1/2"))
        XCTAssertNil(joiner.accept([1], part: "bogus"))
    }

    func testSubjectsAndClusterNames() {
        XCTAssertNil(BusSubjects(cluster: "a.b"))
        XCTAssertNil(BusSubjects(cluster: ""))
        XCTAssertNil(BusSubjects(cluster: String(repeating: "x", count: 33)))
        let s = BusSubjects(cluster: "tagarela")!
        XCTAssertEqual(s.shard(3), "tagarela.shard.3")
        let inbox = s.loopInbox(gateway: "ab12", loop: 1)
        XCTAssertEqual(BusSubjects.shard(ofReply: s.reply(inbox: inbox, shard: 12), inbox: inbox), 12)
        XCTAssertNil(BusSubjects.shard(ofReply: inbox + ".x", inbox: inbox))
        XCTAssertNil(BusSubjects.shard(ofReply: "other.gw.ab12.1.2", inbox: inbox))
    }
}
