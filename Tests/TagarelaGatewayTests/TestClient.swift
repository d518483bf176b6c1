// TestClient: a blocking loopback TCP client for the gateway tests, speaking raw bytes, NDJSON or client-side WebSocket.
import Foundation
import Glibc
import TagarelaWire

/// A client socket to 127.0.0.1 with a receive timeout, so no test can hang.
final class TestClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sawEOF = false

    /// `receiveBufferBytes` fixes SO_RCVBUF before the connect (which also turns off the
    /// kernel's autotuning), so a client that stops reading pushes back after that many bytes.
    init(port: Int, timeoutMs: Int = 3_000, receiveBufferBytes: Int? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError.socket(errno) }
        if var size = receiveBufferBytes.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw TestClientError.connect(errno)
        }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: Int((timeoutMs % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // A server that stops reading must not hang a sending test either.
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads more bytes into the buffer; false on EOF, error or timeout.
    @discardableResult
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 65536, 0) }
        if n == 0 { sawEOF = true }
        guard n > 0 else { return false }
        buffer += chunk[0..<n]
        return true
    }

    /// Everything until the peer closes (or the timeout).
    func readToEOF() -> [UInt8] {
        while fill() {}
        defer { buffer = [] }
        return buffer
    }

    /// True when the server closes the connection within the timeout, without sending anything.
    func waitForClose() -> Bool {
        while fill() {}
        return sawEOF
    }

    /// True unless the server has closed the connection (checked now, without waiting; bytes
    /// waiting to be read are left where they are).
    func isOpen() -> Bool {
        if sawEOF { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return true }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n > 0 { return true }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    /// True when the server has sent something (bytes or the close) not read yet; no waiting.
    func hasPendingInput() -> Bool {
        if !buffer.isEmpty || sawEOF { return true }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, 0) > 0
    }

    /// Bytes up to and including the first `\r\n\r\n` (an HTTP head).
    func readHead() -> String? {
        let end: [UInt8] = [13, 10, 13, 10]
        while true {
            if let r = find(end) {
                let head = Array(buffer[..<r])
                buffer.removeFirst(r)
                return String(decoding: head, as: UTF8.self)
            }
            guard fill() else { return nil }
        }
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where buffer[i] == needle[0] {
            if Array(buffer[i..<(i + needle.count)]) == needle { return i + needle.count }
        }
        return nil
    }

    /// One NDJSON line as text.
    func readLine() -> String? {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                let line = Array(buffer[..<i])
                buffer.removeFirst(i + 1)
                return String(decoding: line, as: UTF8.self)
            }
            guard fill() else { return nil }
        }
    }

    // MARK: WebSocket (client side: masked frames, RFC 6455 section 5.3)

    /// Performs the opening handshake on `path`; returns the response head.
    @discardableResult
    func upgrade(path: String = "/ws", extraHeaders: String = "") -> String? {
        send("GET \(path) HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(extraHeaders)\r\n")
        return readHead()
    }

    func sendFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        send(WebSocketFrameEncoder.encode(opcode: opcode, payload: payload, maskKey: WebSocketMaskKey(0x1234_5678)))
    }

    func sendText(_ text: String) { sendFrame(.text, Array(text.utf8)) }

    /// The next server frame: opcode and payload (server frames are unmasked).
    func readFrame() -> (opcode: UInt8, payload: [UInt8])? {
        readRawFrame().map { ($0.first & 0x0F, $0.payload) }
    }

    /// The next server frame with its whole first byte (FIN, RSV1-3, opcode).
    func readRawFrame() -> (first: UInt8, payload: [UInt8])? {
        while true {
            if buffer.count >= 2 {
                let first = buffer[0]
                var length = Int(buffer[1] & 0x7F)
                var offset = 2
                if length == 126, buffer.count >= 4 {
                    length = Int(buffer[2]) << 8 | Int(buffer[3])
                    offset = 4
                } else if length == 127, buffer.count >= 10 {
                    length = (2..<10).reduce(0) { $0 << 8 | Int(buffer[$1]) }
                    offset = 10
                }
                if length < 126 || offset > 2, buffer.count >= offset + length {
                    let payload = Array(buffer[offset..<(offset + length)])
                    buffer.removeFirst(offset + length)
                    return (first, payload)
                }
            }
            guard fill() else { return nil }
        }
    }

    /// The next text frame's payload as a string.
    func readText() -> String? {
        guard let frame = readFrame() else { return nil }
        return String(decoding: frame.payload, as: UTF8.self)
    }
}

enum TestClientError: Error {
    case socket(Int32)
    case connect(Int32)
}
