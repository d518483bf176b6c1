// E2EByteStream: a buffered reader over one loopback TCP connection where every read has a deadline.
import Glibc
import TagarelaSystem

/// Why an end-to-end client operation failed.
public enum E2EError: Error, Equatable, CustomStringConvertible {
    /// Nothing (or not enough) arrived before the deadline; `what` says what was awaited.
    case timedOut(String)
    /// The server closed the connection; `code` is the WebSocket close code when there was one.
    case closed(code: UInt16?)
    /// The server broke the protocol in a way a client can see.
    case protocolViolation(String)
    /// A command or process did not behave.
    case process(String)

    public var description: String {
        switch self {
        case .timedOut(let what): return "timed out waiting for \(what)"
        case .closed(let code): return "connection closed" + (code.map { " (close code \($0))" } ?? "")
        case .protocolViolation(let text): return "protocol violation: \(text)"
        case .process(let text): return text
        }
    }
}

/// One TCP connection to 127.0.0.1 with a read buffer: exact-count, delimiter and until-close reads.
public final class E2EByteStream {
    /// The underlying socket (non-blocking, driven with poll).
    public let socket: LoopbackClient
    private var buffer: [UInt8] = []
    private var start = 0
    private var sawEOF = false
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    /// Connects to 127.0.0.1:`port` within `timeoutMs`.
    public init(port: Int, timeoutMs: Int = 3000) throws {
        socket = try LoopbackClient(port: port, timeoutMs: timeoutMs)
        try? Socket.setNoDelay(socket.fd)
    }

    /// Closes the connection (idempotent).
    public func close() { socket.close() }

    /// Bytes already received and not yet consumed.
    public var buffered: Int { buffer.count - start }

    /// Sends every byte within `timeoutMs`.
    public func send(_ bytes: [UInt8], timeoutMs: Int = 3000) throws {
        do {
            try socket.send(bytes, timeoutMs: timeoutMs)
        } catch let error as SystemError where error.errno == EPIPE || error.errno == ECONNRESET {
            throw E2EError.closed(code: nil)
        } catch LoopbackError.timedOut {
            throw E2EError.timedOut("the socket to accept \(bytes.count) bytes")
        }
    }

    /// Sends `bytes` one write per byte, pausing `gapMs` between writes so the server's reads
    /// really see them split (the scenario under test, not a synchronisation).
    public func sendByteByByte(_ bytes: [UInt8], gapMs: Int = 2) throws {
        for byte in bytes {
            try send([byte])
            usleep(useconds_t(gapMs * 1000))
        }
    }

    /// Reads whatever arrives next into the buffer; false at end of stream.
    private func fill(deadline: Int64, what: @autoclosure () -> String) throws -> Bool {
        if sawEOF { return false }
        while true {
            let outcome: IOResult
            do {
                outcome = try chunk.withUnsafeMutableBytes { try FileDescriptor.read(socket.fd, into: $0) }
            } catch let error as SystemError where error.errno == ECONNRESET {
                sawEOF = true
                return false
            }
            switch outcome {
            case .bytes(let n):
                if start > 0 && start == buffer.count {
                    buffer.removeAll(keepingCapacity: true)
                    start = 0
                }
                buffer.append(contentsOf: chunk[0..<n])
                return true
            case .eof:
                sawEOF = true
                return false
            case .wouldBlock:
                let left = Int(deadline - Clock.monotonicMs())
                if left <= 0 || !LoopbackClient.poll(socket.fd, events: Int16(POLLIN), timeoutMs: left) {
                    throw E2EError.timedOut(what())
                }
            }
        }
    }

    private func take(_ count: Int) -> [UInt8] {
        let out = Array(buffer[start..<(start + count)])
        start += count
        if start > 64 * 1024 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return out
    }

    /// Exactly `count` bytes, or `E2EError.closed` / `.timedOut`.
    public func read(exactly count: Int, timeoutMs: Int = 3000) throws -> [UInt8] {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while buffered < count {
            if try !fill(deadline: deadline, what: "\(count) bytes (have \(self.buffered))") {
                throw E2EError.closed(code: nil)
            }
        }
        return take(count)
    }

    /// The bytes up to and including `delimiter`; `maxBytes` bounds the search.
    public func read(through delimiter: [UInt8], maxBytes: Int = 2 << 20, timeoutMs: Int = 3000) throws -> [UInt8] {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        // Bytes after `start` already searched; relative, because `fill` may move the buffer.
        var scanned = 0
        while true {
            if let end = find(delimiter, from: start + scanned) {
                return take(end + delimiter.count - start)
            }
            scanned = max(0, buffered - delimiter.count + 1)
            if buffered > maxBytes {
                throw E2EError.protocolViolation("no delimiter within \(maxBytes) bytes")
            }
            if try !fill(deadline: deadline, what: "a delimited unit (have \(self.buffered) bytes)") {
                throw E2EError.closed(code: nil)
            }
        }
    }

    private func find(_ needle: [UInt8], from: Int) -> Int? {
        guard buffer.count - from >= needle.count else { return nil }
        var i = from
        while i + needle.count <= buffer.count {
            if buffer[i] == needle[0] && Array(buffer[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// Everything until the server closes (a reset counts as a close).
    public func readUntilClosed(timeoutMs: Int = 3000) throws -> [UInt8] {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while try fill(deadline: deadline, what: "the server to close (have \(self.buffered) bytes)") {}
        return take(buffered)
    }

    /// True when the server closes the connection within `timeoutMs`, discarding anything sent before.
    public func closesWithin(timeoutMs: Int) -> Bool {
        (try? readUntilClosed(timeoutMs: timeoutMs)) != nil
    }

    /// True when nothing arrives and the connection stays open for `ms` milliseconds.
    public func staysSilent(forMs ms: Int) -> Bool {
        if buffered > 0 || sawEOF { return false }
        return socket.staysSilent(forMs: ms)
    }
}
