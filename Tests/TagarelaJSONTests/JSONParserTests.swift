// JSONParserTests: the strict parser against valid and invalid corpora of RFC 8259.

import TagarelaJSON
import XCTest

final class JSONParserTests: XCTestCase {
    func parse(_ s: String) throws -> JSON { try JSON.parse(s) }

    func kind(_ bytes: [UInt8]) -> JSONParseError.Kind? {
        do {
            _ = try JSON.parse(bytes)
            return nil
        } catch {
            return error.kind
        }
    }

    func kind(_ s: String) -> JSONParseError.Kind? { kind(Array(s.utf8)) }

    func testScalars() throws {
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse(" true "), .bool(true))
        XCTAssertEqual(try parse("\tfalse\r\n"), .bool(false))
        XCTAssertEqual(try parse("0"), .int(0))
        XCTAssertEqual(try parse("-0"), .int(0))
        XCTAssertEqual(try parse("42"), .int(42))
        XCTAssertEqual(try parse("-17"), .int(-17))
        XCTAssertEqual(try parse("1.5"), .double(1.5))
        XCTAssertEqual(try parse("-2.5e3"), .double(-2500))
        XCTAssertEqual(try parse("1E-2"), .double(0.01))
        XCTAssertEqual(try parse("1e+2"), .double(100))
        XCTAssertEqual(try parse("\"hi\""), .string("hi"))
    }

    func testIntegersAreExact() throws {
        XCTAssertEqual(try parse("9007199254740993"), .int(9_007_199_254_740_993))
        XCTAssertEqual(try parse("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(try parse("-9223372036854775808"), .int(Int64.min))
        XCTAssertEqual(try parse("9223372036854775808"), .double(9_223_372_036_854_775_808.0))
        XCTAssertEqual(try parse("123456789012345678901234567890").double!, 1.2345678901234568e29, accuracy: 1e15)
        XCTAssertEqual(JSON.double(5.0).int, 5)
        XCTAssertNil(JSON.double(5.5).int)
    }

    func testContainersKeepOrderAndLookup() throws {
        let v = try parse(#"{"b":1,"a":[true,null,{"x":"y"}],"c":{}}"#)
        XCTAssertEqual(v.object?.keys, ["b", "a", "c"])
        XCTAssertEqual(v["b"], .int(1))
        XCTAssertEqual(v["a"]?[2]?["x"]?.string, "y")
        XCTAssertEqual(v["c"], .object(JSONObject()))
        XCTAssertNil(v["zzz"])
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse(" [ 1 , 2 ] "), .array([1, 2]))
    }

    func testLargeObjectUsesIndex() throws {
        var text = "{"
        for i in 0..<50 { text += (i > 0 ? "," : "") + "\"k\(i)\":\(i)" }
        text += "}"
        let v = try parse(text)
        for i in 0..<50 { XCTAssertEqual(v["k\(i)"], .int(Int64(i))) }
        XCTAssertEqual(kind(String(text.dropLast()) + ",\"k7\":1}"), .duplicateKey)
    }

    func testEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\b\f\n\r\t""#), .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        XCTAssertEqual(try parse(#""\u0041\u00e9\u20AC""#), .string("Aé€"))
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try parse(#""x\u0000y""#), .string("x\u{0}y"))
        XCTAssertEqual(try parse("\"é😀\""), .string("é😀"))
    }

    func testBadEscapesAndSurrogates() {
        XCTAssertEqual(kind(#""\x""#), .invalidEscape)
        XCTAssertEqual(kind(#""\u12G4""#), .invalidEscape)
        XCTAssertEqual(kind(#""\u12""#), .invalidEscape)
        XCTAssertEqual(kind(#""\ud83d""#), .invalidSurrogate)
        XCTAssertEqual(kind(#""\ud83dx""#), .invalidSurrogate)
        XCTAssertEqual(kind(#""\ud83d\u0041""#), .invalidSurrogate)
        XCTAssertEqual(kind(#""\ude00""#), .invalidSurrogate)
        XCTAssertEqual(kind(#""\ude00\ud83d""#), .invalidSurrogate)
        XCTAssertEqual(kind("\"a\nb\""), .controlCharacter)
        XCTAssertEqual(kind("\"a\u{1}\""), .controlCharacter)
    }

    func testInvalidUTF8() {
        let q: UInt8 = 0x22
        XCTAssertEqual(kind([q, 0xC3, q]), .invalidUTF8)            // truncated
        XCTAssertEqual(kind([q, 0xC0, 0x80, q]), .invalidUTF8)      // overlong
        XCTAssertEqual(kind([q, 0xE0, 0x80, 0x80, q]), .invalidUTF8) // overlong 3-byte
        XCTAssertEqual(kind([q, 0xED, 0xA0, 0x80, q]), .invalidUTF8) // encoded surrogate
        XCTAssertEqual(kind([q, 0xF4, 0x90, 0x80, 0x80, q]), .invalidUTF8) // past U+10FFFF
        XCTAssertEqual(kind([q, 0xFF, q]), .invalidUTF8)
        XCTAssertEqual(kind([q, 0x80, q]), .invalidUTF8)
        XCTAssertEqual(kind([q, 0x5C, 0x6E, 0xE2, 0x82, q]), .invalidUTF8) // after an escape
        XCTAssertNil(kind([q, 0xF0, 0x9F, 0x98, 0x80, q]))
        XCTAssertNil(kind([q, 0xEF, 0xBF, 0xBF, q]))
    }

    func testInvalidCorpus() {
        let bad: [String] = [
            "", " ", "{", "}", "[", "]", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\"}", "{\"a\" 1}", "{a:1}",
            "{'a':1}", "[1 2]", "01", "-", "-a", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity",
            "tru", "truex", "nul", "\"abc", "[1]x", "1 2", "{\"a\":1}{}", "\u{FEFF}{}", "[\"a\"\"b\"]",
            "1e999", "-1e999", "[\u{0B}]", "\"\\", "{\"a\":1 \"b\":2}",
        ]
        for s in bad {
            XCTAssertNotNil(kind(s), "accepted invalid JSON: \(s.debugDescription)")
        }
        XCTAssertEqual(kind("[1] x"), .trailingData)
        XCTAssertEqual(kind(""), .unexpectedEnd)
        XCTAssertEqual(kind("{\"a\":1,\"a\":2}"), .duplicateKey)
    }

    func testDepthLimit() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try parse(ok))
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertEqual(kind(deep), .tooDeep)
        let deepObjects = String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)
        XCTAssertEqual(kind(deepObjects), .tooDeep)
        let huge = String(repeating: "[", count: 100_000)
        XCTAssertEqual(kind(huge), .tooDeep)
        XCTAssertThrowsError(try JSON.parse(Array("[[1]]".utf8), maxDepth: 1))
    }

    func testSliceAndRawBufferEntryPoints() throws {
        let bytes = Array("xx{\"a\":1}yy".utf8)
        XCTAssertEqual(try JSON.parse(bytes[2..<9])["a"], .int(1))
        let v = try bytes.withUnsafeBytes { raw in try JSON.parse(UnsafeRawBufferPointer(rebasing: raw[2..<9])) }
        XCTAssertEqual(v["a"], .int(1))
    }

    func testErrorOffset() {
        do {
            _ = try JSON.parse("[1, x]")
            XCTFail("accepted")
        } catch {
            XCTAssertEqual(error, JSONParseError(.unexpectedByte, at: 4))
        }
    }
}

/// Member names are compared code unit by code unit (RFC 8259 section 8.3), not by Unicode
/// canonical equivalence: "café" composed and decomposed are two names.
final class JSONMemberNameTests: XCTestCase {
    func testCanonicallyEquivalentNamesAreDistinct() throws {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        let j = try JSON.parse(Array("{\"\(composed)\":1,\"\(decomposed)\":2}".utf8))
        guard case .object(let o) = j else { return XCTFail("\(j)") }
        XCTAssertEqual(o.count, 2)
        XCTAssertEqual(o[composed], .int(1))
        XCTAssertEqual(o[decomposed], .int(2))
        XCTAssertThrowsError(try JSON.parse(Array("{\"\(composed)\":1,\"\(composed)\":2}".utf8)), "a true duplicate")
        // The same past the hash-index threshold.
        var members = (0..<20).map { "\"k\($0)\":\($0)" }
        members += ["\"\(composed)\":100", "\"\(decomposed)\":200"]
        guard case .object(let big) = try JSON.parse(Array("{\(members.joined(separator: ","))}".utf8)) else { return XCTFail() }
        XCTAssertEqual(big[composed], .int(100))
        XCTAssertEqual(big[decomposed], .int(200))
    }

    func testByteKey() {
        XCTAssertNotEqual(ByteKey("caf\u{E9}"), ByteKey("cafe\u{301}"))
        XCTAssertEqual(ByteKey("caf\u{E9}"), ByteKey(String(decoding: Array("caf\u{E9}".utf8), as: UTF8.self)))
        XCTAssertEqual(Set([ByteKey("caf\u{E9}"), ByteKey("cafe\u{301}"), ByteKey("caf\u{E9}")]).count, 2)
        XCTAssertTrue(ByteKey.equal("abc", "abc"))
        XCTAssertFalse(ByteKey.equal("\u{212A}", "K"))
    }
}
