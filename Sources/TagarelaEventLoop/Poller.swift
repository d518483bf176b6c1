// Poller: the narrow readiness interface the loop is written against, implemented by TagarelaSystem's Epoll.
import TagarelaSystem

/// Readiness notification as the loop needs it: watch descriptors with a 64-bit token, wait,
/// read back (token, readiness) pairs. Epoll is the Linux implementation; the loop logic never
/// names epoll, so another backend (kqueue) would be one more conformance.
protocol Poller: AnyObject {
    /// Starts watching `fd` for `events`, tagged with `token`.
    func add(_ fd: Int32, events: Epoll.Events, token: UInt64) throws
    /// Replaces the interest and token of a watched descriptor.
    func modify(_ fd: Int32, events: Epoll.Events, token: UInt64) throws
    /// Stops watching `fd`.
    func remove(_ fd: Int32) throws
    /// Blocks up to `timeoutMs` (-1: forever) and returns the number of ready events.
    func wait(timeoutMs: Int32) throws -> Int
    /// The `index`-th ready event of the last wait.
    func event(at index: Int) -> (token: UInt64, events: Epoll.Events)
    /// Releases the poller's descriptor.
    func close()
}

extension Epoll: Poller {}
