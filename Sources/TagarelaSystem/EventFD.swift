// EventFD: a non-blocking eventfd counter used to wake an event loop from another thread.
import Glibc

/// An eventfd: `signal()` from any thread makes it readable; `drain()` on the owner resets it.
public final class EventFD: Sendable {
    /// The descriptor to register with epoll for reading.
    public let fd: Int32

    /// Creates a non-blocking, close-on-exec eventfd with a zero counter.
    public init() throws {
        fd = try retryingEINTR("eventfd") {
            LinuxCalls.eventfd(0, LinuxCalls.EFD_NONBLOCK | LinuxCalls.EFD_CLOEXEC)
        }
    }

    deinit { FileDescriptor.close(fd) }

    /// Adds one to the counter, waking a waiter. Thread-safe. `EAGAIN` (counter saturated)
    /// is ignored: the descriptor is already readable, which is all a wake-up needs.
    public func signal() {
        var one: UInt64 = 1
        while Glibc.write(fd, &one, 8) < 0 && errno == EINTR {}
    }

    /// Resets the counter to zero; returns false when it was already zero.
    @discardableResult
    public func drain() -> Bool {
        var value: UInt64 = 0
        while true {
            let n = Glibc.read(fd, &value, 8)
            if n == 8 { return true }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }
}
