// SystemError: a failed system call as a typed value (the call's name and its errno), plus the EINTR retry helper.
import Glibc

/// A system call that failed: which operation, and the `errno` it left.
///
/// Operating errors (a reset peer, a full disk) surface as this value; callers decide what
/// they mean. `EINTR` never surfaces: every wrapper retries the call.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    /// The failing operation, e.g. `"bind(127.0.0.1:5000)"` or `"fsync"`.
    public let op: String
    /// The `errno` value the call left.
    public let errno: Int32

    /// Wraps an explicit errno value.
    public init(op: String, errno: Int32) {
        self.op = op
        self.errno = errno
    }

    /// Captures the calling thread's current `errno`.
    public init(op: String) {
        self.op = op
        self.errno = Glibc.errno
    }

    /// `op: message (errno N)`, with the C library's message for the errno.
    public var description: String {
        let message = strerror(errno).map { String(cString: $0) } ?? "unknown error"
        return "\(op): \(message) (errno \(errno))"
    }

    /// True for `EAGAIN` / `EWOULDBLOCK`.
    public var isWouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }
}

/// Runs `call` until it returns something other than -1 with `EINTR`; -1 with another errno throws.
@inline(__always)
func retryingEINTR(_ op: @autoclosure () -> String, _ call: () -> Int32) throws -> Int32 {
    while true {
        let result = call()
        if result != -1 { return result }
        let code = Glibc.errno
        if code != EINTR { throw SystemError(op: op(), errno: code) }
    }
}
