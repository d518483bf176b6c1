// FuzzInputs: the seeded inputs the JSON and CBOR fuzz tests share: mutated documents and random value trees.
import TagarelaJSON

/// Runs a mutation fuzz loop: `rounds` inputs drawn from `seed`, each handed to `body`. Every fourth
/// input is up to 39 random bytes; the others are one of `documents` with 1 to 4 bytes overwritten,
/// removed or inserted. `insertByte` draws what is inserted, so a parser's own punctuation can be
/// favoured. The same seed gives the same inputs, so a failing round replays.
public func fuzzMutatedInputs(seed: UInt64, rounds: Int, documents: [[UInt8]],
                              insertByte: (inout SeededRandom) -> UInt8 = { UInt8(truncatingIfNeeded: $0.next()) },
                              _ body: ([UInt8]) -> Void) {
    var rng = SeededRandom(seed: seed)
    for round in 0..<rounds {
        var input: [UInt8]
        if round % 4 == 0 {
            input = rng.bytes(rng.below(40))
        } else {
            input = documents[rng.below(documents.count)]
            for _ in 0..<(1 + rng.below(4)) {
                let pos = rng.below(input.count)
                switch rng.below(3) {
                case 0: input[pos] = UInt8(truncatingIfNeeded: rng.next())
                case 1: input.remove(at: pos)
                default: input.insert(insertByte(&rng), at: pos)
                }
            }
        }
        body(input)
    }
}

/// Random `JSON` value trees for round-trip tests: nesting stops at depth 5, containers hold up to
/// 4 items, strings up to 7 scalars from `scalars`. Each format draws its own doubles (`double`:
/// CBOR carries any finite bit pattern, JSON text only what it writes back exactly).
public struct RandomJSON {
    /// Draws the number of a `.double` leaf.
    public var double: (inout SeededRandom) -> Double
    /// The scalars strings and object keys are made of.
    public var scalars: [Unicode.Scalar]

    public init(scalars: [Unicode.Scalar], double: @escaping (inout SeededRandom) -> Double) {
        self.scalars = scalars
        self.double = double
    }

    /// `count` values drawn from `seed`: the same seed, the same values.
    public func sample(seed: UInt64, count: Int) -> [JSON] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in value(&rng) }
    }

    /// A value of at most `5 - depth` more levels.
    public func value(_ rng: inout SeededRandom, depth: Int = 0) -> JSON {
        switch rng.below(depth > 4 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(rng.below(2) == 0)
        case 2: return .int(Int64(bitPattern: rng.next()) >> rng.below(64))
        case 3: return .double(double(&rng))
        case 4: return .string(string(&rng))
        case 5: return .array((0..<rng.below(5)).map { _ in value(&rng, depth: depth + 1) })
        default:
            var o = JSONObject()
            for _ in 0..<rng.below(5) { o[string(&rng)] = value(&rng, depth: depth + 1) }
            return .object(o)
        }
    }

    /// Up to 7 scalars from `scalars`.
    public func string(_ rng: inout SeededRandom) -> String {
        var s = ""
        for _ in 0..<rng.below(8) { s.unicodeScalars.append(scalars[rng.below(scalars.count)]) }
        return s
    }
}
