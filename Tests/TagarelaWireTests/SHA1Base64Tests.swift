// SHA1Base64Tests: SHA-1 against FIPS 180 vectors and Base64 against RFC 4648 section 10.

import TagarelaCrypto
import TagarelaWire
import TestSupport
import XCTest

final class SHA1Base64Tests: XCTestCase {
    func testSHA1FIPSVectors() {
        for (message, digest) in WireVectors.sha1 {
            XCTAssertEqual(SHA1.hash(Array(message.utf8)), WireVectors.hexBytes(digest), message)
        }
    }

    func testSHA1MillionAInUnevenPieces() {
        var sha = SHA1()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
        var left = 1_000_000
        while left > 0 {
            let n = min(left, piece.count)
            sha.update(piece[0..<n])
            left -= n
        }
        XCTAssertEqual(sha.finalize(), WireVectors.hexBytes(WireVectors.sha1MillionA))
    }

    func testSHA1PaddingBoundaries() {
        // Messages of 55, 56, 63, 64 and 65 bytes cross the padding edge cases of FIPS 180-4 5.1.1;
        // byte-at-a-time updates must agree with one-shot hashing.
        for count in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let message = (0..<count).map { UInt8($0 & 0xFF) }
            var sha = SHA1()
            for byte in message { sha.update([byte]) }
            XCTAssertEqual(sha.finalize(), SHA1.hash(message), "length \(count)")
        }
        XCTAssertEqual(SHA1.hash([UInt8](repeating: 0x61, count: 64)),
                       WireVectors.hexBytes("0098ba824b5c16427bd7a1122a5a442a25ec644d"))
    }

    func testBase64RFC4648Vectors() {
        for (plain, encoded) in WireVectors.base64 {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8))
        }
    }

    func testBase64RoundTripsEveryLength() {
        var random = SeededRandom(seed: 64)
        for count in 0..<70 {
            let bytes = random.bytes(count)
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
    }

    func testBase64RejectsNonCanonicalInput() {
        let bad = ["Zg", "Zg=", "Z===", "Zh==", "Zm9=", "Zm8", "Zm 9v", "Zm9v\n", "Zg==Zg==", "=Zg=", "Zm9v!A==",
                   "Z-8=", "Zm_v"]
        for text in bad { XCTAssertNil(Base64.decode(text), text) }
    }

    func testAcceptKeyOfRFC6455Section1_3() {
        XCTAssertEqual(WebSocketHandshake.acceptKey(for: WireVectors.handshakeKey), WireVectors.handshakeAccept)
    }
}
