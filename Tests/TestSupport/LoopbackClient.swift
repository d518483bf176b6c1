// LoopbackClient: a test-side socket client for 127.0.0.1 and Unix sockets whose every wait has a deadline.
import Glibc
import TagarelaSystem

/// Why a loopback wait ended without the expected bytes.
public enum LoopbackError: Error, Equatable {
    /// The deadline passed.
    case timedOut(received: Int)
    /// The peer closed before the expected bytes arrived.
    case closed(received: Int)
}

/// A non-blocking client socket driven with `poll`, so no test can hang on it.
public final class LoopbackClient {
    /// The socket.
    public let fd: Int32
    private var isOpen = true

    /// Connects to 127.0.0.1:`port`, waiting at most `timeoutMs` for the connection.
    public init(port: Int, timeoutMs: Int = 5000) throws {
        fd = try Socket.connectTCP(host: "127.0.0.1", port: port)
        guard LoopbackClient.poll(fd, events: Int16(POLLOUT), timeoutMs: timeoutMs) else {
            FileDescriptor.close(fd)
            throw LoopbackError.timedOut(received: 0)
        }
        let pending = try Socket.pendingError(fd)
        if pending != 0 {
            FileDescriptor.close(fd)
            throw SystemError(op: "connect(127.0.0.1:\(port))", errno: pending)
        }
    }

    /// Connects to the Unix socket at `path`.
    public init(unixPath path: String) throws {
        fd = try Socket.connectUnix(path: path)
    }

    deinit { close() }

    /// Closes the socket (idempotent).
    public func close() {
        if isOpen {
            isOpen = false
            FileDescriptor.close(fd)
        }
    }

    /// Sends all of `bytes`, waiting at most `timeoutMs` in total.
    public func send(_ bytes: [UInt8], timeoutMs: Int = 5000) throws {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        var offset = 0
        while offset < bytes.count {
            let result = try bytes.withUnsafeBytes { raw in
                try FileDescriptor.write(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            switch result {
            case .bytes(let n): offset += n
            case .wouldBlock, .eof:
                let left = Int(deadline - Clock.monotonicMs())
                if left <= 0 || !LoopbackClient.poll(fd, events: Int16(POLLOUT), timeoutMs: left) {
                    throw LoopbackError.timedOut(received: offset)
                }
            }
        }
    }

    /// Sends the UTF-8 bytes of `text`.
    public func send(_ text: String, timeoutMs: Int = 5000) throws {
        try send(Array(text.utf8), timeoutMs: timeoutMs)
    }

    /// Reads exactly `count` bytes, waiting at most `timeoutMs` in total.
    public func read(exactly count: Int, timeoutMs: Int = 5000) throws -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(count)
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while result.count < count {
            let want = Swift.min(chunk.count, count - result.count)
            let outcome = try chunk.withUnsafeMutableBytes {
                try FileDescriptor.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]))
            }
            switch outcome {
            case .bytes(let n): result.append(contentsOf: chunk[0..<n])
            case .eof: throw LoopbackError.closed(received: result.count)
            case .wouldBlock:
                let left = Int(deadline - Clock.monotonicMs())
                if left <= 0 || !LoopbackClient.poll(fd, events: Int16(POLLIN), timeoutMs: left) {
                    throw LoopbackError.timedOut(received: result.count)
                }
            }
        }
        return result
    }

    /// Reads until the peer closes; returns what arrived. A reset counts as closed.
    public func readUntilClosed(timeoutMs: Int = 5000) throws -> [UInt8] {
        var result = [UInt8]()
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let outcome: IOResult
            do {
                outcome = try chunk.withUnsafeMutableBytes { try FileDescriptor.read(fd, into: $0) }
            } catch let error as SystemError where error.errno == ECONNRESET {
                return result
            }
            switch outcome {
            case .bytes(let n): result.append(contentsOf: chunk[0..<n])
            case .eof: return result
            case .wouldBlock:
                let left = Int(deadline - Clock.monotonicMs())
                if left <= 0 || !LoopbackClient.poll(fd, events: Int16(POLLIN), timeoutMs: left) {
                    throw LoopbackError.timedOut(received: result.count)
                }
            }
        }
    }

    /// True when nothing is readable for `ms` milliseconds (the server stayed silent).
    public func staysSilent(forMs ms: Int) -> Bool {
        !LoopbackClient.poll(fd, events: Int16(POLLIN), timeoutMs: ms)
    }

    /// Waits for `events` on `fd`; false on timeout.
    public static func poll(_ fd: Int32, events: Int16, timeoutMs: Int) -> Bool {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while true {
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let left = Swift.max(0, deadline - Clock.monotonicMs())
            let n = Glibc.poll(&pfd, 1, Int32(clamping: left))
            if n > 0 { return true }
            if n == 0 { return false }
            if errno != EINTR { return false }
        }
    }
}

/// A unique path for a Unix socket or scratch file under /tmp (short: sun_path holds 108 bytes).
public func loopbackTemporaryPath(_ name: String) -> String {
    "/tmp/tgr-\(getpid())-\(Clock.monotonicNs() % 1_000_000_000)-\(name)"
}
