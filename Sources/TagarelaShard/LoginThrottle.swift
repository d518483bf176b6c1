// LoginThrottle: back-off after failed password checks, per key (an account, or an account and its source), in a table of bounded size.

/// How hard password guessing on one account is throttled (PROTOCOL.md 3.2). The gateway's
/// per-connection rate limit does not stop it: many connections (or many addresses) can aim
/// at one account, and each guess that reaches the hash is answered in milliseconds.
public struct LoginThrottlePolicy: Equatable {
    /// Failures allowed before any wait: a person who mistypes a few times never notices.
    public var freeFailures: Int
    /// The wait after failure `freeFailures + 1`; it doubles with each further failure.
    /// One second already cuts a guesser from hundreds of tries a second to about one.
    public var firstDelayMs: Int64
    /// The longest wait between two tries: 15 minutes, so a guesser gets about 100 tries a day
    /// on one account, while its owner who forgot the password waits at most that long.
    public var maxDelayMs: Int64
    /// An account with no failure for this long is forgotten (its count starts again): one hour,
    /// four times the longest wait, so waiting out the back-off does not reset it.
    public var forgetAfterMs: Int64
    /// Keys tracked at once per shard, in each of the engine's two tables (per account and
    /// source, per account). Each entry is about 100 bytes, so 100,000 bound the
    /// table near 10 MB whatever usernames a guesser sprays. When it is full, forgotten entries
    /// go first, then the oldest half by last failure: resetting a target's count that way costs
    /// a guesser 50,000 failed checks, each a full password hash.
    public var maxAccounts: Int

    /// The defaults above.
    public init(freeFailures: Int = 5, firstDelayMs: Int64 = 1_000, maxDelayMs: Int64 = 900_000,
                forgetAfterMs: Int64 = 3_600_000, maxAccounts: Int = 100_000) {
        precondition(freeFailures >= 1 && firstDelayMs > 0 && maxDelayMs >= firstDelayMs && maxAccounts >= 2)
        self.freeFailures = freeFailures
        self.firstDelayMs = firstDelayMs
        self.maxDelayMs = maxDelayMs
        self.forgetAfterMs = forgetAfterMs
        self.maxAccounts = maxAccounts
    }
}

/// The failed password checks of recently guessed accounts, kept in memory only (a restarted
/// worker starts with an empty table). Unknown usernames are tracked like real ones, so the
/// answers do not tell which accounts exist. Checks in flight count too: after the free
/// failures, at most one check of an account runs at a time, so a burst sent at once (the
/// hash pool queues up to `WorkerConfig.hashJobsMax`) cannot slip past the count.
struct LoginThrottle {
    struct Entry {
        var failures = 0
        var inFlight = 0
        var lastFailureAt: Int64 = 0
        var blockedUntil: Int64 = 0
    }

    let policy: LoginThrottlePolicy
    private(set) var entries: [String: Entry] = [:]

    init(policy: LoginThrottlePolicy) {
        self.policy = policy
    }

    /// Starts a password check of `account` at `now`, or returns how long to wait (ms).
    mutating func begin(_ account: String, now: Int64) -> Int64? {
        var e = entries[account] ?? Entry()
        if e.failures > 0 && now - e.lastFailureAt >= policy.forgetAfterMs {
            e.failures = 0
            e.blockedUntil = 0
        }
        if now < e.blockedUntil { return e.blockedUntil - now }
        let budget = e.failures < policy.freeFailures ? policy.freeFailures - e.failures : 1
        if e.inFlight >= budget { return policy.firstDelayMs }
        e.inFlight += 1
        store(account, e, now: now)
        return nil
    }

    /// Ends a check that `begin` started: a success forgets the account's failures, a failure
    /// counts and, past the free ones, sets the next wait.
    mutating func finish(_ account: String, success: Bool, now: Int64) {
        var e = entries[account] ?? Entry()
        e.inFlight = max(0, e.inFlight - 1)
        if success {
            e.failures = 0
            e.blockedUntil = 0
        } else {
            e.failures += 1
            e.lastFailureAt = now
            let over = e.failures - policy.freeFailures
            if over >= 0 {
                let doublings = min(over, 40)
                let delay = policy.firstDelayMs > policy.maxDelayMs >> doublings
                    ? policy.maxDelayMs : policy.firstDelayMs << doublings
                e.blockedUntil = now + min(policy.maxDelayMs, delay)
            }
        }
        if e.failures == 0 && e.inFlight == 0 {
            entries[account] = nil
        } else {
            store(account, e, now: now)
        }
    }

    /// Releases a check that `begin` started and that will never finish (its job was dropped),
    /// without counting it either way: a dropped check must not hold the account's budget.
    mutating func cancel(_ account: String) {
        guard var e = entries[account] else { return }
        e.inFlight = max(0, e.inFlight - 1)
        entries[account] = e.failures == 0 && e.inFlight == 0 ? nil : e
    }

    /// Inserts or updates, making room first when a new account would pass the bound.
    private mutating func store(_ account: String, _ e: Entry, now: Int64) {
        if entries[account] == nil && entries.count >= policy.maxAccounts {
            evict(now: now)
        }
        entries[account] = e
    }

    /// Drops forgotten entries; if that is not enough, the older half by last failure.
    private mutating func evict(now: Int64) {
        entries = entries.filter { $0.value.inFlight > 0 || now - $0.value.lastFailureAt < policy.forgetAfterMs }
        guard entries.count >= policy.maxAccounts else { return }
        let byAge = entries.sorted { $0.value.lastFailureAt < $1.value.lastFailureAt }
        for (account, _) in byAge.prefix(entries.count - policy.maxAccounts / 2) { entries[account] = nil }
    }
}
