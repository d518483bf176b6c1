// CBORStrictnessTests: the decoder's rules one by one (UTF-8, keys, depth, lengths, byte-string paths), truncation at every byte, and exact bytes of the encoder.

import TagarelaCBOR
import TagarelaJSON
import TestSupport
import XCTest

final class CBORStrictnessTests: XCTestCase {
    private func hex(_ s: String) -> [UInt8] { WireVectors.hexBytes(s) }

    private func assertRefused(_ bytes: [UInt8], _ kind: CBORDecodeError.Kind, at offset: Int? = nil,
                               byteStrings: CBORByteStrings = .refused, maxDepth: Int = JSON.defaultMaxDepth,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSON.decodeCBOR(bytes, byteStrings: byteStrings, maxDepth: maxDepth),
                             file: file, line: line) { error in
            let e = error as? CBORDecodeError
            XCTAssertEqual(e?.kind, kind, file: file, line: line)
            if let offset { XCTAssertEqual(e?.offset, offset, file: file, line: line) }
        }
    }

    static let request: JSON = [
        "type": "message", "request_id": "r1", "chat_id": "d:alice:bob",
        "content": "olá 😀 \u{0}", "n": [1, -2, 2.5, true, false, nil, .int(Int64.max), .int(Int64.min)],
    ]

    func testARequestRoundTripsThroughBothEncodings() throws {
        let cbor = Self.request.encodedCBOR()
        let back = try JSON.decodeCBOR(cbor)
        XCTAssertEqual(back, Self.request)
        XCTAssertEqual(back.encoded(), Self.request.encoded(), "the JSON the worker sees is the JSON client's")
    }

    /// Every proper prefix of a valid item is refused as unfinished (a message cut anywhere),
    /// and the whole item decodes; nothing is left over from one decode to the next.
    func testEveryTruncationIsUnexpectedEnd() throws {
        let whole = Self.request.encodedCBOR()
        for cut in 0..<whole.count {
            assertRefused(Array(whole[..<cut]), .unexpectedEnd)
        }
        XCTAssertEqual(try JSON.decodeCBOR(whole), Self.request)
        assertRefused(whole + [0x00], .trailingData, at: whole.count)
    }

    func testTextMustBeValidUTF8() {
        for bad in WireVectors.invalidUTF8 {
            var item: [UInt8] = []
            CBOREncoder.appendHead(major: 3, UInt64(bad.bytes.count), to: &item)
            assertRefused(item + bad.bytes, .invalidUTF8, at: 0)
            // In a key too.
            var map: [UInt8] = [0xA1]
            CBOREncoder.appendHead(major: 3, UInt64(bad.bytes.count), to: &map)
            assertRefused(map + bad.bytes + [0x00], .invalidUTF8, at: 1)
        }
    }

    func testMapKeysAreTextAndUnique() {
        assertRefused(hex("a1f600"), .nonTextKey, at: 1)
        assertRefused(hex("a1410000"), .nonTextKey, at: 1)
        assertRefused(hex("a2616101616102"), .duplicateKey, at: 4)
        // Keys compare by bytes: composed and decomposed "é" are two keys, as in JSON.
        XCTAssertNoThrow(try JSON.decodeCBOR(hex("a262c3a9016365cc8102")))
    }

    /// The JSON parser's depth limit, applied the same way: 64 nested containers pass, 65 do not.
    func testDepthLimitIsJSONs() throws {
        let limit = JSON.defaultMaxDepth
        let ok = [UInt8](repeating: 0x81, count: limit - 1) + [0x80]
        XCTAssertNoThrow(try JSON.decodeCBOR(ok))
        let deep = [UInt8](repeating: 0x81, count: limit) + [0x80]
        assertRefused(deep, .tooDeep, at: limit)
        assertRefused([UInt8](repeating: 0xA1, count: 1) + [0x61, 0x61] + [UInt8](repeating: 0x81, count: 3) + [0x80],
                      .tooDeep, maxDepth: 3)
        // Far past the stack's reach: refused at the limit, not by a crash.
        assertRefused([UInt8](repeating: 0x81, count: 100_000), .tooDeep)
    }

    /// A head may claim up to 2^64-1 elements or bytes; the claim is checked against the bytes
    /// left before anything is reserved.
    func testLengthsPastTheInputAreRefusedBeforeAllocating() {
        assertRefused(hex("9bffffffffffffffff"), .unexpectedEnd, at: 9)
        assertRefused(hex("bbffffffffffffffff"), .unexpectedEnd, at: 9)
        assertRefused(hex("9a7fffffff01"), .unexpectedEnd, at: 6)
        assertRefused(hex("a2616101"), .unexpectedEnd, at: 4)
        assertRefused(hex("7bffffffffffffffff"), .unexpectedEnd, at: 9)
        assertRefused(hex("5a0000000201"), .unexpectedEnd, at: 6, byteStrings: .base64Anywhere)
    }

    func testReservedAndNonPreferredHeads() throws {
        for initial in [0x1C, 0x1D, 0x1E, 0x3C, 0x5C, 0x7C, 0x9C, 0xBC, 0xFC, 0xFD, 0xFE] as [UInt8] {
            assertRefused([initial], .reservedAdditionalInfo)
        }
        assertRefused([0x1F], .indefiniteLength)
        assertRefused([0xFF], .indefiniteLength)
        assertRefused([0xF8, 0x10], .simpleValueNotAllowed)
        assertRefused([0xF8], .unexpectedEnd)
        // Longer heads than needed are well-formed (RFC 8949 section 4.1 binds encoders only).
        XCTAssertEqual(try JSON.decodeCBOR(hex("1b0000000000000001")), 1)
        XCTAssertEqual(try JSON.decodeCBOR(hex("7800")), "")
        XCTAssertEqual(try JSON.decodeCBOR(hex("3b7fffffffffffffff")), .int(Int64.min))
        XCTAssertEqual(try JSON.decodeCBOR(hex("1b7fffffffffffffff")), .int(Int64.max))
        assertRefused(hex("1b8000000000000000"), .integerOutOfRange)
        assertRefused(hex("3b8000000000000000"), .integerOutOfRange)
    }

    /// Byte strings only at the protocol's paths, and only byte strings there.
    func testByteStringsOnlyAtTheirPaths() throws {
        let paths: CBORByteStrings = .base64(at: [["attachment", "data"]])
        let data: [UInt8] = [0, 1, 2, 0xFF, 0xFE]
        var good: [UInt8] = [0xA2]
        CBOREncoder.appendText("type", to: &good)
        CBOREncoder.appendText("message", to: &good)
        CBOREncoder.appendText("attachment", to: &good)
        good.append(0xA1)
        CBOREncoder.appendText("data", to: &good)
        CBOREncoder.appendBytes(data, to: &good)
        let decoded = try JSON.decodeCBOR(good, byteStrings: paths)
        XCTAssertEqual(decoded["attachment"]?["data"], .string("AAEC//4="))
        XCTAssertEqual(decoded.encodedCBOR(bytePaths: [["attachment", "data"]]), good)
        assertRefused(good, .byteStringNotAllowed, at: good.count - data.count - 1)

        // Elsewhere: at the top level, under another key, in an array at the path.
        assertRefused(hex("4100"), .byteStringNotAllowed, byteStrings: paths)
        assertRefused(hex("a1646461746141" + "00"), .byteStringNotAllowed, byteStrings: paths)
        let textThere = JSON.object(JSONObject([("attachment", ["data": "AAEC//4="])])).encodedCBOR()
        XCTAssertNoThrow(try JSON.decodeCBOR(textThere, byteStrings: .refused))
        assertRefused(textThere, .byteStringExpected, byteStrings: paths)
        assertRefused(hex("a16a6174746163686d656e7481a16464617461" + "4100"), .byteStringNotAllowed, byteStrings: paths)
    }

    func testEncoderWritesShortestForms() {
        XCTAssertEqual(JSON.int(23).encodedCBOR(), [0x17])
        XCTAssertEqual(JSON.int(24).encodedCBOR(), [0x18, 24])
        XCTAssertEqual(JSON.int(256).encodedCBOR(), [0x19, 1, 0])
        XCTAssertEqual(JSON.int(65536).encodedCBOR(), [0x1A, 0, 1, 0, 0])
        XCTAssertEqual(JSON.int(Int64.min).encodedCBOR(), hex("3b7fffffffffffffff"))
        XCTAssertEqual(JSON.int(-24).encodedCBOR(), [0x37])
        XCTAssertEqual(JSON.double(0.5).encodedCBOR(), hex("f93800"))
        XCTAssertEqual(JSON.double(0.1).encodedCBOR(), hex("fb3fb999999999999a"))
        XCTAssertEqual(JSON.double(16777216.0).encodedCBOR(), hex("fa4b800000"))
        // A string at a byte path that is not strict base64 stays text.
        let notBase64: JSON = ["data": "not base64!"]
        XCTAssertEqual(try JSON.decodeCBOR(notBase64.encodedCBOR(bytePaths: [["data"]])), notBase64)
    }

    /// Every half-precision value: decode, and when finite, the encoder finds the same bits.
    func testEveryHalfFloatRoundTrips() throws {
        for h in 0...0xFFFF {
            let bytes: [UInt8] = [0xF9, UInt8(h >> 8), UInt8(h & 0xFF)]
            let d = CBORFloat.double(fromHalf: UInt16(h))
            if !d.isFinite {
                assertRefused(bytes, .nonFiniteFloat)
                continue
            }
            XCTAssertEqual(try JSON.decodeCBOR(bytes).encodedCBOR(), bytes, "half \(h)")
        }
    }
}
