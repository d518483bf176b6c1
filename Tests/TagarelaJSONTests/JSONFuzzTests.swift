// JSONFuzzTests: seeded random and mutated inputs never crash the parser, and what parses round-trips.

import TagarelaJSON
import TestSupport
import XCTest

final class JSONFuzzTests: XCTestCase {
    /// Random values encode to text that parses back to the same value.
    func testRandomValuesRoundTrip() throws {
        var rng = SeededRandom(seed: 0xC0FFEE)
        for _ in 0..<500 {
            let v = randomValue(&rng, depth: 0)
            let bytes = v.encoded()
            let back = try JSON.parse(bytes)
            XCTAssertEqual(back.encoded(), bytes)
        }
    }

    /// Random bytes and mutations of valid documents either parse or throw; nothing crashes.
    func testMutatedInputsNeverCrash() {
        var rng = SeededRandom(seed: 42)
        let seeds = [
            Array(#"{"type":"message","chat_id":"d:a:b","content":"hé\n😀","n":[1,2.5e3,-0,true,null]}"#.utf8),
            Array(#"[{"a":"\ud83d\ude00"},{"b":{"c":[[],[{}]]}}]"#.utf8),
        ]
        let pool = Array("{}[]\",:\\u0".utf8)
        var parsed = 0
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
                    default: input.insert(pool[rng.below(pool.count)], at: pos)
                    }
                }
            }
            if let v = try? JSON.parse(input) {
                parsed += 1
                XCTAssertEqual(try? JSON.parse(v.encoded()), v)
            }
        }
        XCTAssertGreaterThan(parsed, 0)
    }

    func randomValue(_ rng: inout SeededRandom, depth: Int) -> JSON {
        switch rng.below(depth > 4 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(rng.below(2) == 0)
        case 2: return .int(Int64(bitPattern: rng.next()) >> rng.below(64))
        case 3: return .double(Double(Int64(bitPattern: rng.next()) >> 20) / 1024)
        case 4: return .string(randomString(&rng))
        case 5: return .array((0..<rng.below(5)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var o = JSONObject()
            for _ in 0..<rng.below(5) { o[randomString(&rng)] = randomValue(&rng, depth: depth + 1) }
            return .object(o)
        }
    }

    func randomString(_ rng: inout SeededRandom) -> String {
        let pool: [Unicode.Scalar] = ["a", "z", "\"", "\\", "\n", "\u{0}", "\u{1f}", "é", "€", "😀", "\u{7f}", "/"]
        var s = ""
        for _ in 0..<rng.below(8) { s.unicodeScalars.append(pool[rng.below(pool.count)]) }
        return s
    }
}
