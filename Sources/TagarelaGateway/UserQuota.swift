// UserQuota: a gateway-wide token bucket per user (groups created, attachment bytes per user per time window), shared by every loop.
import Foundation

/// Counts an action per user across every connection and loop: `max` at once, refilled at
/// `max` per `windowMs`. A per-connection limit is not enough: one user with 8 connections
/// created 1648 groups in 3.2 s (issue 8).
///
/// Shared by the loops under a mutex, like `PresenceTable`: it is touched once per guarded
/// request (group creation), not per message. A user's bucket is forgotten once it is full
/// again, so the table holds only users active within the last window.
public final class UserQuota: @unchecked Sendable {
    private let lock = NSLock()
    /// Per user: tokens in units of 1/`max` of a window-millisecond, and the last refill time.
    private var buckets: [String: (tokens: Int64, atMs: Int64)] = [:]
    private var takesSincePrune = 0
    let max: Int64
    let windowMs: Int64

    /// A quota of `max` actions per `windowMs` per user.
    public init(max: Int, windowMs: Int64) {
        precondition(max >= 1 && windowMs >= 1, "a quota needs a positive size and window")
        self.max = Int64(max)
        self.windowMs = windowMs
    }

    /// Capacity in token units: one action costs `windowMs` units and `max` units refill per ms.
    private var capacity: Int64 { max * windowMs }

    /// Takes one action for `user` at `nowMs` (a monotonic clock): nil when allowed, else the
    /// milliseconds until one is.
    public func take(_ user: String, nowMs: Int64) -> Int64? {
        take(user, cost: 1, nowMs: nowMs)
    }

    /// Takes `cost` actions (bytes, for the attachment quota) at once: nil when allowed, else the
    /// milliseconds until that many are. A cost above `max` is charged as `max` (it could never
    /// be allowed otherwise).
    public func take(_ user: String, cost: Int, nowMs: Int64) -> Int64? {
        let units = Swift.min(Int64(Swift.max(cost, 0)), max) * windowMs
        lock.lock()
        defer { lock.unlock() }
        prune(nowMs: nowMs)
        var bucket = buckets[user] ?? (capacity, nowMs)
        if nowMs > bucket.atMs {
            bucket.tokens = min(capacity, bucket.tokens + (nowMs - bucket.atMs) * max)
            bucket.atMs = nowMs
        }
        guard bucket.tokens >= units else {
            buckets[user] = bucket
            return Swift.max(1, (units - bucket.tokens + max - 1) / max)
        }
        bucket.tokens -= units
        buckets[user] = bucket
        return nil
    }

    /// Every 1024 takes, forgets the buckets that have refilled (as good as new).
    private func prune(nowMs: Int64) {
        takesSincePrune += 1
        guard takesSincePrune >= 1024 else { return }
        takesSincePrune = 0
        let capacity = self.capacity
        buckets = buckets.filter { $0.value.tokens + (nowMs - $0.value.atMs) * max < capacity }
    }

    /// Users with a bucket (for tests).
    public var trackedUsers: Int {
        lock.lock()
        defer { lock.unlock() }
        return buckets.count
    }
}
