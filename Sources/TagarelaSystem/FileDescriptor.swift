// FileDescriptor: close, read, write and writev on raw descriptors with typed, EINTR-free results.
import Glibc

/// What a non-blocking read or write did.
public enum IOResult: Equatable {
    /// This many bytes moved (more than zero, unless a zero-length buffer was passed).
    case bytes(Int)
    /// `EAGAIN`: nothing can move until the descriptor is ready again.
    case wouldBlock
    /// The peer closed its side (read returned 0). Never returned by writes.
    case eof
}

/// Operations on a raw file descriptor.
public enum FileDescriptor {
    /// Closes `fd`. `EINTR` is not retried: on Linux the descriptor is released even then,
    /// and retrying could close a descriptor another thread just received.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Reads into `buffer`: `.bytes(n)`, `.wouldBlock` or `.eof`.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { return .bytes(n) }
            if n == 0 { return buffer.count == 0 ? .bytes(0) : .eof }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw SystemError(op: "read", errno: code)
        }
    }

    /// Writes from `buffer` (possibly partially): `.bytes(n)` or `.wouldBlock`.
    public static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        while true {
            let n = Glibc.write(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return .bytes(n) }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw SystemError(op: "write", errno: code)
        }
    }

    /// Gathers `count` iovecs into one write (possibly partial): `.bytes(n)` or `.wouldBlock`.
    /// `count` must not exceed `maxIOVectors`.
    public static func writev(_ fd: Int32, _ iov: UnsafePointer<iovec>, count: Int) throws(SystemError) -> IOResult {
        while true {
            let n = Glibc.writev(fd, iov, Int32(count))
            if n >= 0 { return .bytes(n) }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw SystemError(op: "writev", errno: code)
        }
    }

    /// Writes all of `bytes`, waiting in `poll` when the descriptor is non-blocking and full.
    /// For files and set-up paths, not for event-loop sockets. A write that takes nothing from a
    /// non-empty buffer (a file that cannot grow) fails as `ENOSPC` rather than loop.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch try write(fd, rest) {
            case .bytes(0): throw SystemError(op: "write", errno: ENOSPC)
            case .bytes(let n): offset += n
            case .wouldBlock:
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = try retryingEINTR("poll") { poll(&pfd, 1, -1) }
            case .eof: throw SystemError(op: "write", errno: EPIPE)
            }
        }
    }

    /// Convenience over `writeAll(_:_:)` for an array.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        // withUnsafeBytes rethrows untyped; the result carries the typed error out.
        let outcome: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeAll(fd, raw); return .success(()) } catch { return .failure(error) }
        }
        try outcome.get()
    }

    /// The most iovecs one `writev` accepts (`IOV_MAX`, 1024 on Linux).
    public static let maxIOVectors: Int = {
        let value = sysconf(Int32(_SC_IOV_MAX))
        return value > 0 ? value : 1024
    }()

    /// Sets or clears `O_NONBLOCK`.
    public static func setNonBlocking(_ fd: Int32, _ on: Bool = true) throws {
        let flags = try retryingEINTR("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
        let wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags {
            _ = try retryingEINTR("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, wanted) }
        }
    }
}
