// HTTPHeadParserTests: request heads parsed whole and split, every refusal with its status, and responses.

import TagarelaWire
import TestSupport
import XCTest

final class HTTPHeadParserTests: XCTestCase {
    private let upgrade = "GET /ws?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version:   13  \r\n\r\n"

    private func parse(_ chunks: [[UInt8]], limits: Limits = .default) -> (HTTPHeadParser.Result, HTTPHeadParser) {
        var parser = HTTPHeadParser(limits: limits)
        for (index, chunk) in chunks.enumerated() {
            let result = parser.feed(chunk)
            if case .needMore = result, index < chunks.count - 1 { continue }
            return (result, parser)
        }
        return (.needMore, parser)
    }

    private func status(_ text: String, limits: Limits = .default) -> Int? {
        if case .failed(let error) = parse([Array(text.utf8)], limits: limits).0 {
            XCTAssertFalse(error.reason.isEmpty)
            XCTAssertFalse(error.reason.contains("\n"))
            return error.status
        }
        return nil
    }

    func testParsesAnUpgradeRequest() {
        let input = Array((upgrade + "\u{81}\u{85}rest").utf8)
        guard case .complete(let head, let consumed) = parse([input]).0 else { return XCTFail("not complete") }
        XCTAssertEqual(consumed, upgrade.utf8.count, "the bytes after the head are left for the next protocol")
        XCTAssertEqual(head.method, "GET")
        XCTAssertEqual(head.target, "/ws?x=1")
        XCTAssertEqual(head.path, "/ws")
        XCTAssertEqual(head.version, .http1_1)
        XCTAssertEqual(head.headers.count, 5)
        XCTAssertEqual(head.value(of: "sec-websocket-version"), "13", "names ignore case, values lose OWS")
        XCTAssertEqual(head.value(of: "HOST"), "example.com")
        XCTAssertNil(head.value(of: "Origin"))
        XCTAssertTrue(head.containsToken("WebSocket", in: "upgrade"))
    }

    func testSameResultAtEverySplitAndNothingBuffered() {
        let input = Array(upgrade.utf8)
        guard case .complete(let expected, _) = parse([input]).0 else { return XCTFail("not complete") }
        for chunks in everySplit(input) {
            let (result, parser) = parse(chunks)
            guard case .complete(let head, let consumed) = result else { return XCTFail("split \(chunks.map(\.count))") }
            XCTAssertEqual(head, expected)
            XCTAssertEqual(consumed, chunks.last(where: { !$0.isEmpty })?.count ?? 0)
            XCTAssertEqual(parser.bufferedCount, 0)
        }
    }

    func testBareLineFeedsAndLeadingEmptyLineAreTolerated() {
        guard case .complete(let head, _) = parse([Array("\r\nGET / HTTP/1.0\nHost: a\n\n".utf8)]).0 else {
            return XCTFail("not complete")
        }
        XCTAssertEqual(head.version, .http1_0)
        XCTAssertEqual(head.value(of: "host"), "a")
    }

    func testMalformedHeadsAre400() {
        let cases = [
            "GET /\r\n\r\n",                                   // two parts
            "GET / HTTP/1.1 extra\r\n\r\n",                    // four parts
            "GET  / HTTP/1.1\r\n\r\n",                         // double space
            "G(T / HTTP/1.1\r\n\r\n",                          // not a token
            "GET / HTTX/1.1\r\n\r\n",
            "GET / HTTP/1.10\r\n\r\n",
            "GET / HTTP/1\r\n\r\n",
            "GET /a\u{7F} HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",   // obs-fold
            "GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",              // space before colon
            "GET / HTTP/1.1\r\nHost a\r\n\r\n",                // no colon
            "GET / HTTP/1.1\r\n: a\r\n\r\n",                   // empty name
            "GET / HTTP/1.1\r\nHost: a\u{1}b\r\n\r\n",         // control character
            "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",            // bare CR
            "\r\n\r\n",
        ]
        for text in cases { XCTAssertEqual(status(text), 400, text.debugDescription) }
        XCTAssertEqual(status("GET / HTTP/2.0\r\n\r\n"), 505)
    }

    func testHeadPastTheLimitIs431WithoutBufferingPastIt() {
        var limits = Limits()
        limits.httpHeadBytesMax = 8192
        let filler = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 8192) + "\r\n\r\n"
        XCTAssertEqual(status(filler), 431)
        // Exactly at the limit (terminator included) passes; one more byte does not.
        let base = "GET / HTTP/1.1\r\nX: \r\n\r\n"
        let exact = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 8192 - base.utf8.count) + "\r\n\r\n"
        XCTAssertEqual(exact.utf8.count, 8192)
        guard case .complete = parse([Array(exact.utf8)]).0 else { return XCTFail("exact limit refused") }
        let over = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 8193 - base.utf8.count) + "\r\n\r\n"
        XCTAssertEqual(status(over), 431)
        // Byte by byte, the buffer never exceeds the limit and the answer is 431.
        var parser = HTTPHeadParser()
        var result = HTTPHeadParser.Result.needMore
        for byte in Array(filler.utf8) {
            result = parser.feed([byte])
            XCTAssertLessThanOrEqual(parser.bufferedCount, limits.httpHeadBytesMax)
            if case .needMore = result { continue }
            break
        }
        XCTAssertEqual(result, .failed(HTTPError(status: 431, reason: "request head larger than 8192 bytes")))
    }

    func testTooManyHeaderFieldsIs431() {
        let many = "GET / HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: 101) + "\r\n"
        XCTAssertEqual(status(many), 431)
        let enough = "GET / HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: 100) + "\r\n"
        guard case .complete = parse([Array(enough.utf8)]).0 else { return XCTFail("100 fields refused") }
    }

    func testSeededRandomInputNeverCrashesAndStaysBounded() {
        var random = SeededRandom(seed: 431)
        var limits = Limits()
        limits.httpHeadBytesMax = 512
        let alphabet = Array("GET / HTTP/1.1\r\n:aZ \t\u{1}".utf8)
        for _ in 0..<1500 {
            var input = Array("GET / HTTP/1.1\r\n".utf8)
            for _ in 0..<Int.random(in: 0...700, using: &random) {
                input.append(Bool.random(using: &random) ? alphabet.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random))
            }
            var parser = HTTPHeadParser(limits: limits)
            var whole = HTTPHeadParser(limits: limits)
            let expected = whole.feed(input)
            var result = HTTPHeadParser.Result.needMore
            var fed = 0
            for chunk in random.chunks(of: input, maxChunk: 64) {
                result = parser.feed(chunk)
                XCTAssertLessThanOrEqual(parser.bufferedCount, limits.httpHeadBytesMax)
                if case .needMore = result { fed += chunk.count; continue }
                if case .complete(let head, let consumed) = result, case .complete(let wholeHead, let wholeConsumed) = expected {
                    XCTAssertEqual(head, wholeHead)
                    XCTAssertEqual(fed + consumed, wholeConsumed)
                } else {
                    XCTAssertEqual(result, expected)
                }
                break
            }
            if case .needMore = result { XCTAssertEqual(expected, .needMore) }
        }
    }

    func testResponseEncoding() {
        XCTAssertEqual(String(decoding: HTTPResponse.encode(status: 200, headers: [("Content-Type", "text/plain")], body: Array("hi".utf8)), as: UTF8.self),
                       "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi")
        XCTAssertEqual(String(decoding: HTTPResponse.encode(status: 204), as: UTF8.self), "HTTP/1.1 204 No Content\r\n\r\n")
        XCTAssertEqual(String(decoding: HTTPResponse.encode(status: 200, headers: [("content-length", "10")]), as: UTF8.self),
                       "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n", "an explicit length (HEAD) is kept")
        XCTAssertEqual(String(decoding: HTTPResponse.error(HTTPError(status: 431, reason: "too big")), as: UTF8.self),
                       "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       + "Connection: close\r\nContent-Length: 8\r\n\r\ntoo big\n")
    }
}
