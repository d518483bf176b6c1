// LinkCodecTests: round trips of every link frame kind, exact bytes, and every split point.
import XCTest
@testable import TagarelaLink

final class LinkCodecTests: XCTestCase {
    static let sampleEvent = LinkEvent(userIDs: ["alice", "bob", "çé✓"], excludeConnectionID: 42,
                                       json: Array(#"{"type":"message:new","text":"hi\n"}"#.utf8))

    /// One frame of every kind, with empty and non-empty fields.
    static let samples: [LinkFrame] = [
        .request(LinkRequest(requestID: 1, connectionID: 2, json: Array("{}".utf8))),
        .request(LinkRequest(requestID: .max, connectionID: 0x0102_0304_0506_0708, flags: LinkRequest.internalFlag,
                             userID: "alice", sessionID: "ab12", arg: "g_123", json: [0, 10, 13, 255])),
        .reply(LinkReply(requestID: 7, json: Array(#"{"ok":true}"#.utf8))),
        .reply(LinkReply(requestID: 8, json: [], authUserID: "bob", authSessionID: "ff00", endSessionID: "ee11", endUserID: "bob",
                         events: [sampleEvent, LinkEvent(userIDs: [], json: [])])),
        .events([]),
        .events([sampleEvent, sampleEvent]),
        .ping(0),
        .pong(.max),
        .subscribe([]),
        .subscribe(["alice", "", "çé✓"]),
        .unsubscribe(["bob"]),
        .statsRequest(9),
        .stats(WorkerStats(nonce: 3)),
        .stats(sampleStats),
    ]

    static let sampleStats: WorkerStats = {
        var h = Histogram(bounds: [1_000, 1_000_000])
        h.observe(7)
        h.observe(-1)
        h.observe(5_000_000, times: 3)
        return WorkerStats(nonce: .max, values: [.init("shard_users", 12), .init("négatif", -5)],
                           histograms: [.init("shard_commit_duration_seconds", h),
                                        .init("empty", Histogram(bounds: [1]))])
    }()

    private func decodeAll(_ bytes: [UInt8], chunks: [Int], max: Int = 1 << 20) throws -> [LinkFrame] {
        var decoder = LinkDecoder(maxFrameBytes: max)
        var frames: [LinkFrame] = []
        var start = 0
        for size in chunks + [bytes.count] where start < bytes.count {
            let end = min(bytes.count, start + size)
            try decoder.feed(Array(bytes[start..<end])) { frames.append($0) }
            start = end
        }
        XCTAssertEqual(decoder.bufferedBytes, 0, "nothing left behind after whole frames")
        return frames
    }

    func testRoundTripEveryKind() throws {
        for frame in Self.samples {
            XCTAssertEqual(try decodeAll(LinkCodec.encoded(frame), chunks: []), [frame])
        }
    }

    func testManyFramesInOneBuffer() throws {
        var buffer: [UInt8] = []
        for frame in Self.samples { LinkCodec.encode(frame, into: &buffer) }
        XCTAssertEqual(try decodeAll(buffer, chunks: []), Self.samples)
    }

    func testExactBytesOfSubscribe() {
        XCTAssertEqual(LinkCodec.encoded(.subscribe(["ab"])), [0, 0, 0, 11, 6, 0, 0, 0, 1, 0, 0, 0, 2, 0x61, 0x62])
        XCTAssertEqual(LinkCodec.encoded(.unsubscribe([])), [0, 0, 0, 5, 7, 0, 0, 0, 0])
    }

    func testExactBytesOfPing() {
        XCTAssertEqual(LinkCodec.encoded(.ping(0x0102_0304_0506_0708)),
                       [0, 0, 0, 9, 4, 1, 2, 3, 4, 5, 6, 7, 8])
    }

    func testExactBytesOfRequest() {
        let frame = LinkFrame.request(LinkRequest(requestID: 1, connectionID: 2, flags: 1, userID: "u",
                                                  sessionID: "", arg: "a", json: [0x7b, 0x7d]))
        let expected: [UInt8] = [0, 0, 0, 38, 1,
                                 0, 0, 0, 0, 0, 0, 0, 1,
                                 0, 0, 0, 0, 0, 0, 0, 2,
                                 1,
                                 0, 0, 0, 1, 0x75,
                                 0, 0, 0, 0,
                                 0, 0, 0, 1, 0x61,
                                 0, 0, 0, 2, 0x7b, 0x7d]
        XCTAssertEqual(LinkCodec.encoded(frame), expected)
    }

    /// Every split point of a stream of all sample frames: two chunks, and byte by byte.
    func testEverySplitPoint() throws {
        var buffer: [UInt8] = []
        for frame in Self.samples { LinkCodec.encode(frame, into: &buffer) }
        for split in 0...buffer.count {
            XCTAssertEqual(try decodeAll(buffer, chunks: [split]), Self.samples, "split at \(split)")
        }
        XCTAssertEqual(try decodeAll(buffer, chunks: Array(repeating: 1, count: buffer.count)), Self.samples)
    }

    func testOversizeFrameRefusedFromItsPrefix() {
        var decoder = LinkDecoder(maxFrameBytes: 100)
        var frames = 0
        // Only the prefix is fed: the refusal must not wait for (or buffer) the body.
        XCTAssertThrowsError(try decoder.feed([0, 0, 0, 101]) { _ in frames += 1 }) { error in
            XCTAssertEqual(error as? LinkError, .frameTooLarge(length: 101, max: 100))
        }
        XCTAssertEqual(decoder.bufferedBytes, 0)
        // A failed decoder stays failed.
        XCTAssertThrowsError(try decoder.feed(LinkCodec.encoded(.ping(1))) { _ in frames += 1 })
        XCTAssertEqual(frames, 0)
        // A frame exactly at the limit passes.
        var exact = LinkDecoder(maxFrameBytes: 9)
        XCTAssertNoThrow(try exact.feed(LinkCodec.encoded(.ping(1))) { _ in frames += 1 })
        XCTAssertEqual(frames, 1)
    }

    func testMalformedFramesGiveTypedErrors() {
        func check(_ bytes: [UInt8], _ expected: LinkError, line: UInt = #line) {
            var decoder = LinkDecoder(maxFrameBytes: 1 << 16)
            XCTAssertThrowsError(try decoder.feed(bytes) { _ in }, line: line) { error in
                XCTAssertEqual(error as? LinkError, expected, line: line)
            }
        }
        check([0, 0, 0, 0], .emptyFrame)
        check([0, 0, 0, 1, 99], .unknownType(99))
        check([0, 0, 0, 5, 4, 0, 0, 0, 0], .truncatedField(offset: 1))
        check([0, 0, 0, 10, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0], .trailingBytes(count: 1))
        // An events frame claiming 2^32-1 events in a 5-byte body: refused before reserving.
        check([0, 0, 0, 5, 3, 0xff, 0xff, 0xff, 0xff], .truncatedField(offset: 1))
        // A subscribe claiming 2^32-1 users in a 5-byte body, and one with a user cut short.
        check([0, 0, 0, 5, 6, 0xff, 0xff, 0xff, 0xff], .truncatedField(offset: 1))
        check([0, 0, 0, 11, 7, 0, 0, 0, 1, 0, 0, 0, 3, 0x61, 0x62], .truncatedField(offset: 5))
        // A stats frame whose histogram claims bounds that do not ascend (2 then 1), and one
        // claiming more bounds than Histogram.boundsMax: refused as malformed fields.
        var stats: [UInt8] = [9] + [UInt8](repeating: 0, count: 8) + [0, 0, 0, 0] + [0, 0, 0, 1] + [0, 0, 0, 1, 0x68]
        stats += [0, 0, 0, 2] + [0, 0, 0, 0, 0, 0, 0, 2] + [0, 0, 0, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 32)
        check([0, 0, 0, UInt8(stats.count)] + stats, .truncatedField(offset: 22))
        var many: [UInt8] = [9] + [UInt8](repeating: 0, count: 8) + [0, 0, 0, 0] + [0, 0, 0, 1] + [0, 0, 0, 1, 0x68]
        many += [0, 0, 0, 65] + [UInt8](repeating: 0, count: 65 * 16 + 16)
        check([0, 0, UInt8(many.count >> 8), UInt8(many.count & 0xff)] + many, .truncatedField(offset: 22))
        // A string that is not UTF-8.
        var bad = LinkCodec.encoded(.request(LinkRequest(requestID: 0, connectionID: 0, userID: "ab", json: [])))
        let userAt = 4 + 1 + 8 + 8 + 1 + 4
        bad[userAt] = 0xff
        check(bad, .invalidUTF8(offset: 1 + 8 + 8 + 1))
    }
}
