// CBORVectorTests: RFC 8949 Appendix A, every example: those in the protocol's subset decode to their value and encode back to the same bytes, the others are refused for the rule they break.

import TagarelaCBOR
import TagarelaJSON
import TestSupport
import XCTest

final class CBORVectorTests: XCTestCase {
    private func hex(_ s: String) -> [UInt8] { WireVectors.hexBytes(s) }

    /// Appendix A examples in the subset, with the JSON value each is, in the appendix's order.
    static let accepted: [(String, JSON)] = [
        ("00", 0), ("01", 1), ("0a", 10), ("17", 23), ("1818", 24), ("1819", 25), ("1864", 100),
        ("1903e8", 1000), ("1a000f4240", 1_000_000), ("1b000000e8d4a51000", 1_000_000_000_000),
        ("20", -1), ("29", -10), ("3863", -100), ("3903e7", -1000),
        ("f90000", .double(0.0)), ("f98000", .double(-0.0)), ("f93c00", .double(1.0)),
        ("fb3ff199999999999a", .double(1.1)), ("f93e00", .double(1.5)), ("f97bff", .double(65504.0)),
        ("fa47c35000", .double(100000.0)), ("fa7f7fffff", .double(3.4028234663852886e+38)),
        ("fb7e37e43c8800759c", .double(1.0e+300)), ("f90001", .double(5.960464477539063e-8)),
        ("f90400", .double(0.00006103515625)), ("f9c400", .double(-4.0)),
        ("fbc010666666666666", .double(-4.1)),
        ("f4", false), ("f5", true), ("f6", nil),
        ("60", ""), ("6161", "a"), ("6449455446", "IETF"), ("62225c", "\"\\"), ("62c3bc", "\u{00fc}"),
        ("63e6b0b4", "\u{6c34}"), ("64f0908591", "\u{10151}"),
        ("80", []), ("83010203", [1, 2, 3]), ("8301820203820405", [1, [2, 3], [4, 5]]),
        ("98190102030405060708090a0b0c0d0e0f101112131415161718181819",
         .array((1...25).map { JSON.int(Int64($0)) })),
        ("a0", [:]), ("a26161016162820203", ["a": 1, "b": [2, 3]]), ("826161a161626163", ["a", ["b": "c"]]),
        ("a56161614161626142616361436164614461656145", ["a": "A", "b": "B", "c": "C", "d": "D", "e": "E"]),
    ]

    /// Appendix A examples outside the subset, with the rule each breaks.
    static let refused: [(String, CBORDecodeError.Kind)] = [
        ("1bffffffffffffffff", .integerOutOfRange),         // 18446744073709551615
        ("c249010000000000000000", .tagNotAllowed),          // bignum 18446744073709551616
        ("3bffffffffffffffff", .integerOutOfRange),         // -18446744073709551616
        ("c349010000000000000000", .tagNotAllowed),          // -18446744073709551617
        ("f97c00", .nonFiniteFloat), ("f97e00", .nonFiniteFloat), ("f9fc00", .nonFiniteFloat),
        ("fa7f800000", .nonFiniteFloat), ("fa7fc00000", .nonFiniteFloat), ("faff800000", .nonFiniteFloat),
        ("fb7ff0000000000000", .nonFiniteFloat), ("fb7ff8000000000000", .nonFiniteFloat),
        ("fbfff0000000000000", .nonFiniteFloat),
        ("f7", .simpleValueNotAllowed), ("f0", .simpleValueNotAllowed), ("f8ff", .simpleValueNotAllowed),
        ("c074323031332d30332d32315432303a30343a30305a", .tagNotAllowed),
        ("c11a514b67b0", .tagNotAllowed), ("c1fb41d452d9ec200000", .tagNotAllowed),
        ("d74401020304", .tagNotAllowed), ("d818456449455446", .tagNotAllowed),
        ("d82076687474703a2f2f7777772e6578616d706c652e636f6d", .tagNotAllowed),
        ("40", .byteStringNotAllowed), ("4401020304", .byteStringNotAllowed),
        ("a201020304", .nonTextKey),
        ("5f42010243030405ff", .indefiniteLength), ("7f657374726561646d696e67ff", .indefiniteLength),
        ("9fff", .indefiniteLength), ("9f018202039f0405ffff", .indefiniteLength),
        ("9f01820203820405ff", .indefiniteLength), ("83018202039f0405ff", .indefiniteLength),
        ("83019f0203ff820405", .indefiniteLength),
        ("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", .indefiniteLength),
        ("bf61610161629f0203ffff", .indefiniteLength), ("826161bf61626163ff", .indefiniteLength),
        ("bf6346756ef563416d7421ff", .indefiniteLength),
    ]

    func testAcceptedVectorsDecodeAndEncodeBack() throws {
        for (text, value) in Self.accepted {
            let bytes = hex(text)
            let decoded = try JSON.decodeCBOR(bytes)
            XCTAssertEqual(decoded, value, text)
            if case .double(let d) = value, case .double(let got) = decoded {
                XCTAssertEqual(got.bitPattern, d.bitPattern, "\(text): sign and bits kept")
            }
            XCTAssertEqual(decoded.encodedCBOR(), bytes, "\(text) round trip")
        }
    }

    func testRefusedVectorsNameTheirRule() {
        for (text, kind) in Self.refused {
            XCTAssertThrowsError(try JSON.decodeCBOR(hex(text)), text) { error in
                XCTAssertEqual((error as? CBORDecodeError)?.kind, kind, text)
            }
        }
    }

    /// The two byte-string examples are in the subset where the protocol puts bytes: as base64
    /// text at the named path, and back to the same bytes.
    func testByteStringVectorsAtABytePath() throws {
        for (text, base64) in [("40", ""), ("4401020304", "AQIDBA==")] {
            let decoded = try JSON.decodeCBOR(hex(text), byteStrings: .base64(at: [[]]))
            XCTAssertEqual(decoded, .string(base64))
            XCTAssertEqual(decoded.encodedCBOR(bytePaths: [[]]), hex(text))
        }
    }
}
