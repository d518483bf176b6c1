// SeededRandom: a deterministic random generator, and a shared box of one, so fuzz-style and engine tests repeat exactly.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test input; seeded so a
/// failing case can be replayed from its seed.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    /// A generator that always yields the same sequence for the same `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0): plain modulo, so a seed replays the same values.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next() % UInt64(bound))
    }

    /// `count` random bytes, one per 64-bit draw.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }

    /// Cuts `bytes` into consecutive chunks of 1 to `maxChunk` bytes.
    public mutating func chunks(of bytes: [UInt8], maxChunk: Int) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let size = Int.random(in: 1...max(1, maxChunk), using: &self)
            let end = min(bytes.count, start + size)
            result.append(Array(bytes[start..<end]))
            start = end
        }
        return result
    }
}

/// A reference-typed wrapper so closures handed to an engine can share one generator.
public final class EngineRandomBox {
    /// The shared generator.
    public var generator: SeededRandom

    /// A box seeded with `seed`.
    public init(seed: UInt64) { generator = SeededRandom(seed: seed) }

    /// `count` random bytes from the shared generator.
    public func bytes(_ count: Int) -> [UInt8] { generator.bytes(count) }
}
