// CBORFuzzTests: seeded random values round-trip through CBOR, and random or mutated bytes never crash the decoder.

import TagarelaCBOR
import TagarelaJSON
import TestSupport
import XCTest

final class CBORFuzzTests: XCTestCase {
    /// Random values encode to CBOR that decodes to the same value and the same JSON text.
    func testRandomValuesRoundTrip() throws {
        var rng = SeededRandom(seed: 0xCB0C)
        for _ in 0..<500 {
            let v = randomValue(&rng, depth: 0)
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
        var rng = SeededRandom(seed: 7)
        let seeds = [
            CBORStrictnessTests.request.encodedCBOR(),
            JSON.array([["a": [[], [:], 1.5]], "é", -70000]).encodedCBOR(),
        ]
        var decoded = 0
        for round in 0..<20_000 {
            var input: [UInt8]
            if round % 4 == 0 {
                input = rng.bytes(rng.below(40))
            } else {
                input = seeds[rng.below(seeds.count)]
                for _ in 0..<(1 + rng.below(4)) {
                    let pos = rng.below(input.count)
                    switch rng.below(3) {
                    case 0: input[pos] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: input.remove(at: pos)
                    default: input.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
                    }
                }
            }
            do {
                let v = try JSON.decodeCBOR(input, byteStrings: .base64Anywhere)
                decoded += 1
                XCTAssertEqual(try? JSON.decodeCBOR(v.encodedCBOR()), v)
            } catch {
                XCTAssert(error.offset >= 0 && error.offset <= input.count)
            }
        }
        XCTAssertGreaterThan(decoded, 0)
    }

    func randomValue(_ rng: inout SeededRandom, depth: Int) -> JSON {
        switch rng.below(depth > 4 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(rng.below(2) == 0)
        case 2: return .int(Int64(bitPattern: rng.next()) >> rng.below(64))
        case 3:
            let d = Double(bitPattern: rng.next())
            return .double(d.isFinite ? d : Double(rng.below(1000)) / 8)
        case 4: return .string(randomString(&rng))
        case 5: return .array((0..<rng.below(5)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var o = JSONObject()
            for _ in 0..<rng.below(5) { o[randomString(&rng)] = randomValue(&rng, depth: depth + 1) }
            return .object(o)
        }
    }

    func randomString(_ rng: inout SeededRandom) -> String {
        let pool: [Character] = ["a", "Z", "0", " ", "\"", "\\", "\u{0}", "\n", "é", "水", "😀"]
        return String((0..<rng.below(8)).map { _ in pool[rng.below(pool.count)] })
    }
}
