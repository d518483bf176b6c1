// EngineSeededRandom: a deterministic random source and a settable clock for engine and parser tests.

/// SplitMix64: tiny, fast and reproducible from its seed, so a failing fuzz case can be rerun.
public struct EngineSeededRandom {
    private var state: UInt64

    /// A generator that always yields the same sequence for the same seed.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next() % UInt64(bound))
    }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(UInt8(truncatingIfNeeded: next())) }
        return out
    }
}

/// A reference-typed wrapper so closures handed to an engine can share one generator.
public final class EngineRandomBox {
    /// The shared generator.
    public var generator: EngineSeededRandom

    /// A box seeded with `seed`.
    public init(seed: UInt64) { generator = EngineSeededRandom(seed: seed) }

    /// `count` random bytes from the shared generator.
    public func bytes(_ count: Int) -> [UInt8] { generator.bytes(count) }
}

/// A wall clock that only moves when a test says so.
public final class EngineFixedClock {
    /// Current time in milliseconds since the Unix epoch.
    public var nowMs: Int64

    /// A clock starting at `startMs` (default: 2024-01-01T00:00:00Z).
    public init(startMs: Int64 = 1_704_067_200_000) { nowMs = startMs }

    /// Moves the clock forward.
    public func advance(ms: Int64) { nowMs += ms }
}
