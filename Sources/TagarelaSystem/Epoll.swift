// Epoll: an epoll instance with a reusable event buffer; the only file that knows epoll's shape.
import Glibc

/// A Linux epoll set. Each registration carries a caller-chosen 64-bit token returned with its
/// events (the event loop packs the descriptor and a generation into it). Not thread-safe: one
/// owner thread, like the loop that uses it.
public final class Epoll {
    /// Interest and readiness bits (`EPOLLIN`, `EPOLLOUT`, ...).
    public struct Events: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        /// Creates from raw epoll bits.
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// `EPOLLIN`: data (or EOF, or a pending connection) to read.
        public static let readable = Events(rawValue: 0x001)
        /// `EPOLLOUT`: room in the send buffer (or a non-blocking connect finished).
        public static let writable = Events(rawValue: 0x004)
        /// `EPOLLERR`: a socket error is pending; always reported.
        public static let error = Events(rawValue: 0x008)
        /// `EPOLLHUP`: both directions are shut; always reported.
        public static let hangup = Events(rawValue: 0x010)
        /// `EPOLLRDHUP`: the peer shut down its writing side.
        public static let readHangup = Events(rawValue: 0x2000)
        /// `EPOLLET`: edge-triggered registration.
        public static let edgeTriggered = Events(rawValue: 0x8000_0000)
    }

    /// The epoll descriptor.
    public let fd: Int32
    /// How many events one `wait` can return.
    public let capacity: Int
    private let buffer: UnsafeMutableRawPointer
    private var closed = false

    /// Creates the epoll set (`EPOLL_CLOEXEC`) and a buffer for `capacity` events per wait.
    public init(capacity: Int) throws {
        precondition(capacity > 0, "epoll needs room for at least one event")
        fd = try retryingEINTR("epoll_create1") { LinuxCalls.epollCreate1(LinuxCalls.EPOLL_CLOEXEC) }
        self.capacity = capacity
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity * LinuxCalls.epollEventStride, alignment: 8)
    }

    deinit {
        buffer.deallocate()
        if !closed { FileDescriptor.close(fd) }
    }

    /// Closes the epoll descriptor early (deinit does it otherwise).
    public func close() {
        if !closed {
            closed = true
            FileDescriptor.close(fd)
        }
    }

    /// Starts watching `target` for `events`, reporting `token` with its readiness.
    public func add(_ target: Int32, events: Events, token: UInt64) throws {
        try control(LinuxCalls.EPOLL_CTL_ADD, target, events, token, "epoll_ctl(ADD)")
    }

    /// Replaces the interest set (and token) of a watched descriptor.
    public func modify(_ target: Int32, events: Events, token: UInt64) throws {
        try control(LinuxCalls.EPOLL_CTL_MOD, target, events, token, "epoll_ctl(MOD)")
    }

    /// Stops watching `target`.
    public func remove(_ target: Int32) throws {
        try control(LinuxCalls.EPOLL_CTL_DEL, target, [], 0, "epoll_ctl(DEL)")
    }

    /// Waits up to `timeoutMs` (-1 forever, 0 poll) and returns how many events are ready; read
    /// them with `event(at:)` until the next wait. A signal interrupting the wait returns 0, so
    /// the caller recomputes its timeout (that is this call's EINTR retry).
    public func wait(timeoutMs: Int32) throws -> Int {
        let n = LinuxCalls.epollWait(fd, buffer, Int32(capacity), timeoutMs)
        if n >= 0 { return Int(n) }
        if errno == EINTR { return 0 }
        throw SystemError(op: "epoll_wait")
    }

    /// The `index`-th ready event of the last `wait`: its token and readiness bits.
    @inline(__always)
    public func event(at index: Int) -> (token: UInt64, events: Events) {
        precondition(index >= 0 && index < capacity, "epoll event index out of range")
        let base = buffer + index * LinuxCalls.epollEventStride
        let events = base.loadUnaligned(as: UInt32.self)
        let token = (base + LinuxCalls.epollEventDataOffset).loadUnaligned(as: UInt64.self)
        return (token, Events(rawValue: events))
    }

    private func control(_ op: Int32, _ target: Int32, _ events: Events, _ token: UInt64, _ name: String) throws {
        // One event record on the stack, laid out as the kernel expects.
        var record: (UInt64, UInt64) = (0, 0)
        try withUnsafeMutableBytes(of: &record) { raw in
            raw.storeBytes(of: events.rawValue, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: token, toByteOffset: LinuxCalls.epollEventDataOffset, as: UInt64.self)
            _ = try retryingEINTR(name) { LinuxCalls.epollCtl(fd, op, target, raw.baseAddress) }
        }
    }
}
