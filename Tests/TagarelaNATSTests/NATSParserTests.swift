// NATSParserTests: every server operation, at every split point, and every bound the parser enforces.
import TagarelaJSON
import TagarelaNATS
import XCTest

final class NATSParserTests: XCTestCase {
    static let corpus = Array((
        "INFO {\"server_id\":\"X\",\"max_payload\":1048576,\"connect_urls\":[\"127.0.0.1:4223\"]}\r\n"
        + "PING\r\nPONG\r\n+OK\r\n-ERR 'Authorization Violation'\r\n"
        + "MSG a.b 1 5\r\nhello\r\n"
        + "MSG a.b 22 reply.to 0\r\n\r\n"
        + "msg lower.case 3 2\r\n\r\n\r\n"
        + "HMSG _INBOX.x.1 2 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
        + "HMSG k.v 7 r.s 35 38\r\nNATS/1.0\r\nA: 1\r\nB-C:  two words\r\n\r\nxyz\r\n"
    ).utf8)

    static let expected: [NATSServerOp] = [
        .info(try! JSON.parse("{\"server_id\":\"X\",\"max_payload\":1048576,\"connect_urls\":[\"127.0.0.1:4223\"]}")),
        .ping, .pong, .ok, .err("Authorization Violation"),
        .msg(sid: 1, NATSMessage(subject: "a.b", reply: nil, headers: [], status: nil, payload: Array("hello".utf8))),
        .msg(sid: 22, NATSMessage(subject: "a.b", reply: "reply.to", headers: [], status: nil, payload: [])),
        .msg(sid: 3, NATSMessage(subject: "lower.case", reply: nil, headers: [], status: nil, payload: [13, 10])),
        .msg(sid: 2, NATSMessage(subject: "_INBOX.x.1", reply: nil, headers: [], status: 503, payload: [])),
        .msg(sid: 7, NATSMessage(subject: "k.v", reply: "r.s", headers: [("A", "1"), ("B-C", "two words")], status: nil,
                                 payload: Array("xyz".utf8))),
    ]

    func testWholeCorpus() throws {
        var parser = NATSParser()
        var ops: [NATSServerOp] = []
        try parser.feed(Self.corpus) { ops.append($0) }
        XCTAssertEqual(ops, Self.expected)
        XCTAssertTrue(parser.isIdle)
    }

    /// Cut in two at every offset, and byte by byte: the same operations, nothing left behind.
    func testEverySplitPoint() throws {
        for cut in 0...Self.corpus.count {
            var parser = NATSParser()
            var ops: [NATSServerOp] = []
            try parser.feed(Array(Self.corpus[..<cut])) { ops.append($0) }
            try parser.feed(Array(Self.corpus[cut...])) { ops.append($0) }
            XCTAssertEqual(ops, Self.expected, "cut at \(cut)")
            XCTAssertTrue(parser.isIdle, "cut at \(cut)")
        }
        var parser = NATSParser()
        var ops: [NATSServerOp] = []
        for byte in Self.corpus { try parser.feed([byte]) { ops.append($0) } }
        XCTAssertEqual(ops, Self.expected)
    }

    /// A control line past the bound is refused as soon as its length is known, newline or not.
    func testControlLineBound() throws {
        var parser = NATSParser()
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: NATSLimits.controlLineBytesMax + 2)
        XCTAssertThrowsError(try parser.feed(Array("INFO ".utf8) + long) { _ in }) {
            XCTAssertEqual($0 as? NATSProtocolError, .controlLineTooLong)
        }
        // Exactly at the bound it is still a line (here a malformed INFO, which is another refusal).
        var atBound = NATSParser()
        let line = Array("-ERR '".utf8) + [UInt8](repeating: 0x61, count: NATSLimits.controlLineBytesMax - 7) + Array("'\r\n".utf8)
        var ops: [NATSServerOp] = []
        XCTAssertNoThrow(try atBound.feed(line) { ops.append($0) })
        XCTAssertEqual(ops.count, 1)
    }

    /// A message longer than the server's max_payload is refused from its MSG line, before its body.
    func testPayloadBoundIsCheckedBeforeTheBody() throws {
        var parser = NATSParser(payloadBytesMax: 100)
        var ops: [NATSServerOp] = []
        try parser.feed(Array("MSG a 1 100\r\n".utf8) + [UInt8](repeating: 0, count: 100) + Array("\r\n".utf8)) { ops.append($0) }
        XCTAssertEqual(ops.count, 1)
        XCTAssertThrowsError(try parser.feed(Array("MSG a 1 101\r\n".utf8)) { _ in }) {
            XCTAssertEqual($0 as? NATSProtocolError, .payloadTooLarge(101))
        }
        var h = NATSParser(payloadBytesMax: 100)
        XCTAssertThrowsError(try h.feed(Array("HMSG a 1 12 101\r\n".utf8)) { _ in }) {
            XCTAssertEqual($0 as? NATSProtocolError, .payloadTooLarge(101))
        }
    }

    func testMalformedInputIsRefused() {
        let cases: [(String, NATSProtocolError)] = [
            ("MSG a.b x 5\r\n", .malformedOperation("MSG")),
            ("MSG a.b 1\r\n", .malformedOperation("MSG")),
            ("MSG a.b 1 -5\r\n", .malformedOperation("MSG")),
            ("MSG a.b 1 r 5 6\r\n", .malformedOperation("MSG")),
            ("HMSG a.b 1 r 5 6 7\r\n", .malformedOperation("HMSG")),
            ("MSG a.b 99999999999999999999 1\r\n", .malformedOperation("MSG")),
            ("MSG a.b 9999999999999999999 1\r\n", .malformedOperation("MSG")),  // 19 digits: would overflow
            ("MSG a.b 1 1234567890\r\n", .malformedOperation("MSG")),
            ("MSGX a 1 1\r\n", .unknownOperation("MSGX")),
            ("HMSG a.b 1 9 5\r\n", .malformedOperation("HMSG")),
            ("MSG a.b 1 3\r\nabcXY", .missingPayloadTerminator),
            ("HMSG a 1 10 10\r\nHTTP/1.1\r\n\r\n", .malformedHeaders),
            ("HMSG a 1 21 21\r\nNATS/1.0\r\nnocolon\r\n\r\n\r\n", .malformedHeaders),
            ("INFO [1]\r\n", .malformedOperation("INFO")),
            ("HELLO\r\n", .unknownOperation("HELLO")),
        ]
        for (input, error) in cases {
            var parser = NATSParser()
            XCTAssertThrowsError(try parser.feed(Array(input.utf8)) { _ in }, input) {
                XCTAssertEqual($0 as? NATSProtocolError, error, input)
            }
        }
    }

    func testHeaderCountBound() {
        let block = "NATS/1.0\r\n" + String(repeating: "K: v\r\n", count: NATSLimits.headerCountMax + 1) + "\r\n"
        XCTAssertThrowsError(try NATSParser.parseHeaders(ArraySlice(Array(block.utf8)))) {
            XCTAssertEqual($0 as? NATSProtocolError, .tooManyHeaders)
        }
        let fits = "NATS/1.0\r\n" + String(repeating: "K: v\r\n", count: NATSLimits.headerCountMax) + "\r\n"
        XCTAssertEqual(try NATSParser.parseHeaders(ArraySlice(Array(fits.utf8))).headers.count, NATSLimits.headerCountMax)
    }

    /// Seeded random bytes in random chunks: refused or parsed, never a crash, never more held
    /// than the bounds.
    func testRandomBytesNeverCrash() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        let alphabet = Array("MSG HMSG INFO PING PONG +OK -ERR 0123456789 \r\n{}\":.".utf8)
        for _ in 0..<300 {
            var parser = NATSParser(payloadBytesMax: 4096)
            var bytes: [UInt8] = []
            for _ in 0..<Int(next() % 2000) { bytes.append(alphabet[Int(next() % UInt64(alphabet.count))]) }
            var offset = 0
            while offset < bytes.count {
                let size = min(bytes.count - offset, Int(next() % 64) + 1)
                do { try parser.feed(Array(bytes[offset..<(offset + size)])) { _ in } } catch { break }
                offset += size
            }
        }
    }
}
