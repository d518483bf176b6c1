// NDJSONFramerTests: line splitting whole and split, CRLF, empty lines and the length limit.

import TagarelaWire
import TestSupport
import XCTest

final class NDJSONFramerTests: XCTestCase {
    /// Feeds `chunks`; returns the lines and whether `.tooLong` was thrown.
    private func frame(_ chunks: [[UInt8]], max: Int = 1 << 20) -> (lines: [String], tooLong: Bool, framer: NDJSONFramer) {
        var framer = NDJSONFramer(lineBytesMax: max)
        var lines: [String] = []
        for chunk in chunks {
            do {
                try framer.feed(chunk) { lines.append(String(decoding: $0, as: UTF8.self)) }
            } catch {
                XCTAssertEqual(error, .tooLong)
                return (lines, true, framer)
            }
        }
        return (lines, false, framer)
    }

    func testLinesCRLFAndEmptyLinesAtEverySplit() {
        let input = Array("{\"a\":1}\n\n{\"b\":2}\r\n\r\n\n  {\"c\":3}\n{\"d\"".utf8)
        for chunks in everySplit(input) {
            let (lines, tooLong, framer) = frame(chunks)
            XCTAssertEqual(lines, ["{\"a\":1}", "{\"b\":2}", "  {\"c\":3}"], "\(chunks.map(\.count))")
            XCTAssertFalse(tooLong)
            XCTAssertEqual(framer.bufferedCount, 4, "the unfinished line is kept")
        }
        let (lines, _, framer) = frame([input, Array("}\n".utf8)])
        XCTAssertEqual(lines.last, "{\"d\"}")
        XCTAssertEqual(framer.bufferedCount, 0)
    }

    func testLimitCountsBytesBeforeTheNewline() {
        let ten = String(repeating: "x", count: 10)
        for chunks in everySplit(Array("\(ten)\n".utf8)) {
            XCTAssertEqual(frame(chunks, max: 10).lines, [ten])
        }
        for chunks in everySplit(Array("ok\n\(ten)x\nlater\n".utf8)) {
            let (lines, tooLong, framer) = frame(chunks, max: 10)
            XCTAssertTrue(tooLong)
            XCTAssertEqual(lines, ["ok"], "lines before the long one are delivered")
            XCTAssertEqual(framer.bufferedCount, 0)
        }
    }

    func testTooLongWithoutANewlineAndWithoutBufferingPastTheLimit() {
        var framer = NDJSONFramer(lineBytesMax: 100)
        var thrown = false
        for _ in 0..<200 {
            do {
                try framer.feed([0x61]) { _ in XCTFail("no line") }
                XCTAssertLessThanOrEqual(framer.bufferedCount, 100)
            } catch {
                thrown = true
                break
            }
        }
        XCTAssertTrue(thrown)
        XCTAssertThrowsError(try framer.feed(Array("\n{}\n".utf8)) { _ in XCTFail("nothing after failure") })
    }

    func testSeededRandomChunksAgreeWithWholeInputAndStayBounded() {
        var random = SeededRandom(seed: 1_048_576)
        for _ in 0..<1500 {
            let input: [UInt8] = (0..<Int.random(in: 0...200, using: &random)).map { _ in
                switch Int.random(in: 0..<6, using: &random) {
                case 0: return UInt8(ascii: "\n")
                case 1: return UInt8(ascii: "\r")
                default: return UInt8.random(in: 0...255, using: &random)
                }
            }
            let whole = frame([input], max: 32)
            var framer = NDJSONFramer(lineBytesMax: 32)
            var lines: [String] = []
            var tooLong = false
            for chunk in random.chunks(of: input, maxChunk: 20) where !tooLong {
                do {
                    try framer.feed(chunk) { lines.append(String(decoding: $0, as: UTF8.self)) }
                } catch {
                    tooLong = true
                }
                XCTAssertLessThanOrEqual(framer.bufferedCount, 32)
            }
            XCTAssertEqual(lines, whole.lines)
            XCTAssertEqual(tooLong, whole.tooLong)
        }
    }
}
