// EpollPoller: the Linux backend of Poller, translating the loop's Readiness to and from TagarelaSystem's Epoll.
import TagarelaSystem

/// The poller this platform's loops use: epoll on Linux, registered level-triggered.
func makePoller(capacity: Int) throws -> any Poller {
    try EpollPoller(capacity: capacity)
}

/// `Poller` over an epoll set. The translation is a few bit tests per event; the token passes
/// through untouched.
final class EpollPoller: Poller {
    private let epoll: Epoll

    init(capacity: Int) throws {
        epoll = try Epoll(capacity: capacity)
    }

    func add(_ fd: Int32, events: Readiness, token: UInt64) throws {
        try epoll.add(fd, events: EpollPoller.interest(events), token: token)
    }

    func modify(_ fd: Int32, events: Readiness, token: UInt64) throws {
        try epoll.modify(fd, events: EpollPoller.interest(events), token: token)
    }

    func remove(_ fd: Int32) throws {
        try epoll.remove(fd)
    }

    func wait(timeoutMs: Int32) throws -> Int {
        try epoll.wait(timeoutMs: timeoutMs)
    }

    @inline(__always)
    func event(at index: Int) -> (token: UInt64, events: Readiness) {
        let (token, events) = epoll.event(at: index)
        return (token, EpollPoller.readiness(events))
    }

    func close() {
        epoll.close()
    }

    /// Interest bits: only readable and writable are asked for (epoll reports errors and
    /// hang-ups whatever the interest).
    static func interest(_ wanted: Readiness) -> Epoll.Events {
        var events: Epoll.Events = []
        if wanted.contains(.readable) { events.insert(.readable) }
        if wanted.contains(.writable) { events.insert(.writable) }
        return events
    }

    /// Reported bits as the loop names them.
    @inline(__always)
    static func readiness(_ events: Epoll.Events) -> Readiness {
        var ready: Readiness = []
        if events.contains(.readable) { ready.insert(.readable) }
        if events.contains(.writable) { ready.insert(.writable) }
        if events.contains(.error) { ready.insert(.error) }
        if events.contains(.hangup) { ready.insert(.hangup) }
        return ready
    }
}
