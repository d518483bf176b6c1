// ProtocolSnifferTests: HTTP versus raw detection from whole, split and byte-at-a-time input.

import TagarelaWire
import TestSupport
import XCTest

final class ProtocolSnifferTests: XCTestCase {
    private func sniff(_ chunks: [[UInt8]]) -> (ProtocolSniffer.Result, ProtocolSniffer) {
        var sniffer = ProtocolSniffer()
        var result = ProtocolSniffer.Result.needMore
        for chunk in chunks { result = sniffer.feed(chunk) }
        return (result, sniffer)
    }

    func testEveryMethodIsHTTPAtEverySplit() {
        for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"] {
            let input = Array("\(method) /ws HTTP/1.1\r\n".utf8)
            for chunks in everySplit(input) {
                XCTAssertEqual(sniff(chunks).0, .http, "\(method) in \(chunks.map(\.count))")
            }
        }
    }

    func testRawAtEverySplit() {
        for text in ["{\"type\":\"login\"}\n", " {}\n", "\n", "\r\n{}", "get / HTTP/1.1", "GETX", "GE T", "HELLO", "PUTS",
                     "OPTION /", "CONNECTX", "\u{0}"] {
            let input = Array(text.utf8)
            for chunks in everySplit(input) where !chunks.allSatisfy(\.isEmpty) {
                XCTAssertEqual(sniff(chunks).0, .raw, "\(text) in \(chunks.map(\.count))")
            }
        }
    }

    func testPrefixesNeedMore() {
        for text in ["", "G", "GE", "GET", "P", "PU", "PO", "PAT", "OPTIONS", "CONNEC", "D", "DELETE"] {
            XCTAssertEqual(sniff([Array(text.utf8)]).0, .needMore, text)
        }
    }

    func testOneByteAtATimeAndEarlierBytes() {
        var sniffer = ProtocolSniffer()
        XCTAssertEqual(sniffer.feed(Array("G".utf8)), .needMore)
        XCTAssertEqual(sniffer.feed(Array("E".utf8)), .needMore)
        XCTAssertEqual(sniffer.feed(Array("T".utf8)), .needMore)
        XCTAssertEqual(sniffer.feed(Array(" /ws HTTP/1.1\r\n".utf8)), .http)
        XCTAssertEqual(sniffer.earlierBytes, Array("GET".utf8), "the bytes fed before the decisive read")
        XCTAssertEqual(sniffer.feed(Array("{".utf8)), .http, "the answer is sticky")
    }

    func testEarlierBytesForRawAfterAMethodPrefix() {
        var sniffer = ProtocolSniffer()
        XCTAssertEqual(sniffer.feed(Array("PO".utf8)), .needMore)
        XCTAssertEqual(sniffer.feed(Array("ny\n".utf8)), .raw)
        XCTAssertEqual(sniffer.earlierBytes, Array("PO".utf8))
        var fresh = ProtocolSniffer()
        XCTAssertEqual(fresh.feed(Array("{}".utf8)), .raw)
        XCTAssertEqual(fresh.earlierBytes, [])
    }

    func testSeededRandomChunksAgreeWithWholeInput() {
        var random = SeededRandom(seed: 7)
        let seeds = ["GET ", "POST ", "PUT ", "PATCH ", "OPTIONS ", "{", " "].map { Array($0.utf8) }
        for _ in 0..<2000 {
            var input = seeds[Int.random(in: 0..<seeds.count, using: &random)]
            input = Array(input.prefix(Int.random(in: 0...input.count, using: &random))) + random.bytes(Int.random(in: 0...6, using: &random))
            let whole = sniff([input]).0
            let chunked = sniff(random.chunks(of: input, maxChunk: 3)).0
            XCTAssertEqual(chunked, whole, "\(input)")
        }
    }
}
