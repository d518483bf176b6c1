// EngineFixedClock: a settable wall clock for shard engine tests.

/// A wall clock that only moves when a test says so.
public final class EngineFixedClock {
    /// Current time in milliseconds since the Unix epoch.
    public var nowMs: Int64

    /// A clock starting at `startMs` (default: 2024-01-01T00:00:00Z).
    public init(startMs: Int64 = 1_704_067_200_000) { nowMs = startMs }

    /// Moves the clock forward.
    public func advance(ms: Int64) { nowMs += ms }
}
