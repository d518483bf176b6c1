// RateLimiter: the per-connection token bucket for requests, and the strike counter that closes abusers.

/// The shared settings of every connection's `RateLimiter` (kept out of the per-connection
/// state so that an idle connection pays only for its counters).
public struct RateLimitPolicy: Sendable, Equatable {
    /// Tokens added per second (PROTOCOL.md 2.5: default 50 requests per second).
    public var ratePerSecond: Int
    /// Bucket capacity (default burst 100).
    public var burst: Int
    /// A connection that collects more than this many `rate_limited` answers inside
    /// `strikeWindowMs` is closed (WebSocket 1008): it is not listening to them.
    public var strikesMax: Int
    /// The window over which strikes are counted (default 10 s).
    public var strikeWindowMs: Int64

    public init(ratePerSecond: Int = 50, burst: Int = 100, strikesMax: Int = 100, strikeWindowMs: Int64 = 10_000) {
        precondition(ratePerSecond > 0 && burst > 0, "a rate limit needs a positive rate and burst")
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        self.strikesMax = strikesMax
        self.strikeWindowMs = strikeWindowMs
    }
}

/// What the limiter decided about one request.
public enum RateDecision: Equatable, Sendable {
    /// Serve the request.
    case allowed
    /// Answer `rate_limited` with `retry_after_ms`, keep the connection.
    case limited(retryAfterMs: Int)
    /// Answer `rate_limited`, then close: too many strikes inside the window.
    case limitedAndClose(retryAfterMs: Int)
}

/// A token bucket counted in thousandths of a token, so that refills at any rate stay exact
/// in integers; 24 bytes of state, no allocation.
public struct RateLimiter: Sendable {
    /// Thousandths of a token currently in the bucket; -1 means "not used yet" (full).
    private var tokensMilli: Int64 = -1
    private var lastRefillMs: Int64 = 0
    /// Start of the current strike window and the strikes inside it, packed to keep the state small.
    private var strikeWindowStartMs: Int64 = 0
    private var strikes: Int32 = 0

    public init() {}

    /// Takes one token at `nowMs` (a monotonic clock) or says how long to wait for one.
    public mutating func admit(nowMs: Int64, policy: RateLimitPolicy) -> RateDecision {
        let capacity = Int64(policy.burst) * 1000
        if tokensMilli < 0 {
            tokensMilli = capacity
            lastRefillMs = nowMs
        } else if nowMs > lastRefillMs {
            // ratePerSecond tokens per 1000 ms == ratePerSecond thousandths per ms.
            let refill = (nowMs - lastRefillMs) * Int64(policy.ratePerSecond)
            tokensMilli = min(capacity, tokensMilli + refill)
            lastRefillMs = nowMs
        }
        if tokensMilli >= 1000 {
            tokensMilli -= 1000
            return .allowed
        }
        let missing = 1000 - tokensMilli
        let rate = Int64(policy.ratePerSecond)
        let retryAfterMs = Int(max(1, (missing + rate - 1) / rate))
        if nowMs - strikeWindowStartMs >= policy.strikeWindowMs || strikes == 0 {
            strikeWindowStartMs = nowMs
            strikes = 0
        }
        strikes += 1
        if Int(strikes) > policy.strikesMax {
            return .limitedAndClose(retryAfterMs: retryAfterMs)
        }
        return .limited(retryAfterMs: retryAfterMs)
    }
}
