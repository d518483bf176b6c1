// CBORFuzzTests: seeded random values round-trip through CBOR, and random or mutated bytes never crash the decoder.

import TagarelaCBOR
import TagarelaJSON
import TestSupport
import XCTest

final class CBORFuzzTests: XCTestCase {
    /// Random values encode to CBOR that decodes to the same value and the same JSON text.
    func testRandomValuesRoundTrip() throws {
        for v in Self.values.sample(seed: 0xCB0C, count: 500) {
            let bytes = v.encodedCBOR()
            let back = try JSON.decodeCBOR(bytes)
            XCTAssertEqual(back, v)
            XCTAssertEqual(back.encodedCBOR(), bytes)
            XCTAssertEqual(back.encoded(), v.encoded())
        }
    }

    /// Random bytes and mutations of valid items either decode or throw with an offset inside
    /// the input; what decodes encodes to an item that decodes to the same value.
    func testMutatedInputsNeverCrash() {
        let documents = [
            CBORStrictnessTests.request.encodedCBOR(),
            JSON.array([["a": [[], [:], 1.5]], "é", -70000]).encodedCBOR(),
        ]
        var decoded = 0
        fuzzMutatedInputs(seed: 7, rounds: 20_000, documents: documents) { input in
            do throws(CBORDecodeError) {
                let v = try JSON.decodeCBOR(input, byteStrings: .base64Anywhere)
                decoded += 1
                XCTAssertEqual(try? JSON.decodeCBOR(v.encodedCBOR()), v)
            } catch {
                XCTAssert(error.offset >= 0 && error.offset <= input.count)
            }
        }
        XCTAssertGreaterThan(decoded, 0)
    }

    /// Any finite double (CBOR carries its bits exactly); strings mix escapes, NUL and 1-4 byte UTF-8.
    static let values = RandomJSON(scalars: ["a", "Z", "0", " ", "\"", "\\", "\u{0}", "\n", "é", "水", "😀"]) { rng in
        let d = Double(bitPattern: rng.next())
        return d.isFinite ? d : Double(rng.below(1000)) / 8
    }
}
