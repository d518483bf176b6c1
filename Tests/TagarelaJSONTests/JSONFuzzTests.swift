// JSONFuzzTests: seeded random and mutated inputs never crash the parser, and what parses round-trips.

import TagarelaJSON
import TestSupport
import XCTest

final class JSONFuzzTests: XCTestCase {
    /// Random values encode to text that parses back to the same value.
    func testRandomValuesRoundTrip() throws {
        for v in Self.values.sample(seed: 0xC0FFEE, count: 500) {
            let bytes = v.encoded()
            let back = try JSON.parse(bytes)
            XCTAssertEqual(back.encoded(), bytes)
        }
    }

    /// Random bytes and mutations of valid documents either parse or throw; nothing crashes.
    func testMutatedInputsNeverCrash() {
        let documents = [
            Array(#"{"type":"message","chat_id":"d:a:b","content":"hé\n😀","n":[1,2.5e3,-0,true,null]}"#.utf8),
            Array(#"[{"a":"\ud83d\ude00"},{"b":{"c":[[],[{}]]}}]"#.utf8),
        ]
        let pool = Array("{}[]\",:\\u0".utf8)
        var parsed = 0
        fuzzMutatedInputs(seed: 42, rounds: 20_000, documents: documents, insertByte: { pool[$0.below(pool.count)] }) { input in
            if let v = try? JSON.parse(input) {
                parsed += 1
                XCTAssertEqual(try? JSON.parse(v.encoded()), v)
            }
        }
        XCTAssertGreaterThan(parsed, 0)
    }

    /// Doubles with at most 10 fraction bits (the writer's text reads back exactly); strings mix
    /// escapes, control characters, DEL, "/" and 1-4 byte UTF-8.
    static let values = RandomJSON(scalars: ["a", "z", "\"", "\\", "\n", "\u{0}", "\u{1f}", "é", "€", "😀", "\u{7f}", "/"]) { rng in
        Double(Int64(bitPattern: rng.next()) >> 20) / 1024
    }
}
