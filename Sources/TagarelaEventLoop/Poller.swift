// Poller: the narrow readiness interface the loop is written against, in its own event-set type.

/// What a descriptor is watched for (interest) and what it reported (readiness). The loop's
/// own type, so the loop logic never names the kernel interface behind it.
struct Readiness: OptionSet, Hashable {
    let rawValue: UInt8
    init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Data (or end of file, or a pending connection) to read.
    static let readable = Readiness(rawValue: 1 << 0)
    /// Room to write (or a non-blocking connect finished).
    static let writable = Readiness(rawValue: 1 << 1)
    /// A socket error is pending. Reported whatever the interest.
    static let error = Readiness(rawValue: 1 << 2)
    /// Both directions are shut. Reported whatever the interest.
    static let hangup = Readiness(rawValue: 1 << 3)
}

/// Readiness notification as the loop needs it: watch descriptors with a 64-bit token, wait,
/// read back (token, readiness) pairs. Registrations are level-triggered: a descriptor that
/// is still ready is reported again at the next wait, which the loop's fairness relies on.
/// `EpollPoller` is the Linux backend (the only file that knows epoll, with TagarelaSystem's
/// `Epoll`); another backend (kqueue) would be one more conformance and one more `makePoller`.
protocol Poller: AnyObject {
    /// Starts watching `fd` for `events` (`.readable`, `.writable`), tagged with `token`.
    func add(_ fd: Int32, events: Readiness, token: UInt64) throws
    /// Replaces the interest and token of a watched descriptor.
    func modify(_ fd: Int32, events: Readiness, token: UInt64) throws
    /// Stops watching `fd`.
    func remove(_ fd: Int32) throws
    /// Blocks up to `timeoutMs` (-1: forever) and returns the number of ready events; a signal
    /// interrupting the wait returns 0.
    func wait(timeoutMs: Int32) throws -> Int
    /// The `index`-th ready event of the last wait.
    func event(at index: Int) -> (token: UInt64, events: Readiness)
    /// Releases the poller's descriptor.
    func close()
}
