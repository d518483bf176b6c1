// UTF8ValidatorTests: valid and invalid sequences, fail-fast positions and state across pieces.

import TagarelaWire
import TestSupport
import XCTest

final class UTF8ValidatorTests: XCTestCase {
    func testValidSequences() {
        for bytes in WireVectors.validUTF8 {
            XCTAssertTrue(UTF8Validator.isValid(bytes), "\(bytes)")
        }
    }

    func testInvalidSequencesFailAtTheFirstBadByte() {
        for (bytes, failsAt) in WireVectors.invalidUTF8 {
            XCTAssertFalse(UTF8Validator.isValid(bytes), "\(bytes)")
            var validator = UTF8Validator()
            for (index, byte) in bytes.enumerated() {
                let ok = validator.feed([byte])
                XCTAssertEqual(ok, index < failsAt, "\(bytes) at \(index)")
                if !ok { break }
            }
            XCTAssertFalse(validator.feed([0x41]), "failure is sticky")
            XCTAssertFalse(validator.isComplete)
        }
    }

    func testTruncatedSequenceIsIncompleteButNotFailed() {
        for bytes: [UInt8] in [[0xC2], [0xE0, 0xA0], [0xF0, 0x90, 0x80], [0x41, 0xF4]] {
            var validator = UTF8Validator()
            XCTAssertTrue(validator.feed(bytes))
            XCTAssertFalse(validator.isComplete)
            XCTAssertFalse(validator.hasFailed)
        }
    }

    func testStateCarriesAcrossEverySplit() {
        let text = Array("ascii then κόσμε 𝄞 and more ascii to pass eight bytes €".utf8)
        for cut in 0...text.count {
            var validator = UTF8Validator()
            XCTAssertTrue(validator.feed(text[..<cut]))
            XCTAssertTrue(validator.feed(text[cut...]))
            XCTAssertTrue(validator.isComplete, "cut at \(cut)")
        }
    }

    func testResetStartsOver() {
        var validator = UTF8Validator()
        XCTAssertFalse(validator.feed([0xFF]))
        validator.reset()
        XCTAssertTrue(validator.feed([0x41]))
        XCTAssertTrue(validator.isComplete)
    }

    /// Random bytes in random pieces agree with the standard library's decoder, which replaces
    /// ill-formed input and so round-trips exactly the valid texts.
    func testSeededRandomAgreesWithStandardLibrary() {
        var random = SeededRandom(seed: 0x0DD_F00D)
        for round in 0..<3000 {
            let length = Int.random(in: 0...24, using: &random)
            // Bias towards multi-byte lead bytes so valid texts are common too.
            let bytes: [UInt8] = (0..<length).map { _ in
                switch Int.random(in: 0..<4, using: &random) {
                case 0: return UInt8.random(in: 0x20...0x7E, using: &random)
                case 1: return UInt8.random(in: 0x80...0xBF, using: &random)
                case 2: return UInt8.random(in: 0xC0...0xF7, using: &random)
                default: return UInt8.random(in: 0...255, using: &random)
                }
            }
            let expected = Array(String(decoding: bytes, as: UTF8.self).utf8) == bytes
            var validator = UTF8Validator()
            var ok = true
            for chunk in random.chunks(of: bytes, maxChunk: 5) where ok { ok = validator.feed(chunk) }
            XCTAssertEqual(ok && validator.isComplete, expected, "round \(round): \(bytes)")
        }
    }
}
