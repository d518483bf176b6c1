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
    /// The file or folder the call failed on, when it was given one (`FileIO`, `FileTree`); a
    /// call on a descriptor leaves it nil and its caller says which file that was.
    public let path: String?

    /// Wraps an explicit errno value.
    public init(op: String, errno: Int32, path: String? = nil) {
        self.op = op
        self.errno = errno
        self.path = path
    }

    /// Captures the calling thread's current `errno`.
    public init(op: String, path: String? = nil) {
        self.op = op
        self.errno = Glibc.errno
        self.path = path
    }

    /// `op path: message (errno N)`, with the C library's message for the errno.
    public var description: String {
        "\(op)\(path.map { " " + $0 } ?? ""): \(message) (errno \(errno))"
    }

    /// The C library's message for the errno (`strerror`).
    public var message: String {
        strerror(errno).map { String(cString: $0) } ?? "unknown error"
    }

    /// This error naming `path`, unless it already names one (a call on a descriptor learns
    /// here which file that descriptor was).
    public func naming(_ path: String) -> SystemError {
        self.path == nil ? SystemError(op: op, errno: errno, path: path) : self
    }

    /// True for `EAGAIN` / `EWOULDBLOCK`.
    public var isWouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }
    /// True for `ENOENT`: the path (or a folder on the way to it) does not exist.
    public var isNotFound: Bool { errno == ENOENT }
    /// True for `EEXIST`: an exclusive create found the name taken.
    public var isAlreadyExisting: Bool { errno == EEXIST }
}

/// Runs `call` until it returns something other than -1 with `EINTR`; -1 with another errno throws.
@inline(__always)
func retryingEINTR(_ op: @autoclosure () -> String, path: String? = nil,
                   _ call: () -> Int32) throws(SystemError) -> Int32 {
    while true {
        let result = call()
        if result != -1 { return result }
        let code = Glibc.errno
        if code != EINTR { throw SystemError(op: op(), errno: code, path: path) }
    }
}
