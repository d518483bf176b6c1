// E2EWebSocketClient: a blocking RFC 6455 client for end-to-end tests that masks its frames and bounds every wait.
import Foundation
import TagarelaSystem

/// One message or control frame the server sent.
public enum E2EWebSocketMessage: Equatable {
    case text(String)
    case binary([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    /// A close frame: the status code (nil when the payload was empty) and the reason.
    case close(code: UInt16?, reason: String)
}

/// WebSocket opcodes (RFC 6455 section 5.2).
public enum E2EOpcode: UInt8 {
    case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA
}

/// A client connection upgraded with `GET path`; frames it sends are masked (RFC 6455 section 5.3).
public final class E2EWebSocketClient: E2ETextTransport {
    /// The RFC 6455 section 1.3 sample nonce and its accept value: the server must compute
    /// exactly this, and the test needs no SHA-1 of its own.
    public static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
    public static let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    /// The connection.
    public let stream: E2EByteStream
    /// The 101 response head, as received.
    public private(set) var handshakeResponse = ""
    /// The `Sec-WebSocket-Protocol` of the 101, nil when it had none.
    public private(set) var subprotocol: String?
    /// When true (the default), pings are answered with a pong carrying the same payload.
    public var answersPings = true
    private var rng = SystemRandomNumberGenerator()

    /// Connects and upgrades; throws unless the answer is a 101 with the right accept value.
    /// `byteByByte` sends the request one byte per write (protocol detection over split reads);
    /// `subprotocols`, when not empty, is offered in one `Sec-WebSocket-Protocol` header.
    public init(port: Int, path: String = "/ws", byteByByte: Bool = false, timeoutMs: Int = 3000,
                subprotocols: [String] = []) throws {
        stream = try E2EByteStream(port: port, timeoutMs: timeoutMs)
        let offer = subprotocols.isEmpty ? "" : "Sec-WebSocket-Protocol: \(subprotocols.joined(separator: ", "))\r\n"
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: \(E2EWebSocketClient.sampleKey)\r\n"
            + offer + "Sec-WebSocket-Version: 13\r\n\r\n"
        if byteByByte {
            try stream.sendByteByByte(Array(request.utf8))
        } else {
            try stream.send(Array(request.utf8))
        }
        let head = try stream.read(through: Array("\r\n\r\n".utf8), maxBytes: 16 * 1024, timeoutMs: timeoutMs)
        handshakeResponse = String(decoding: head, as: UTF8.self)
        let lines = handshakeResponse.components(separatedBy: "\r\n")
        guard let status = lines.first, status.hasPrefix("HTTP/1.1 101") else {
            stream.close()
            throw E2EError.protocolViolation("upgrade refused: \(lines.first ?? "")")
        }
        let accept = lines.dropFirst().first { $0.lowercased().hasPrefix("sec-websocket-accept:") }
            .map { String($0.dropFirst("sec-websocket-accept:".count)).trimmingCharacters(in: .whitespaces) }
        guard accept == E2EWebSocketClient.sampleAccept else {
            stream.close()
            throw E2EError.protocolViolation("wrong Sec-WebSocket-Accept: \(accept ?? "none")")
        }
        subprotocol = lines.dropFirst().first { $0.lowercased().hasPrefix("sec-websocket-protocol:") }
            .map { String($0.dropFirst("sec-websocket-protocol:".count)).trimmingCharacters(in: .whitespaces) }
    }

    /// Closes the TCP connection without a close handshake.
    public func close() { stream.close() }

    // MARK: - Sending

    /// The bytes of one client frame: FIN/opcode, masked length and the masked payload.
    public func frameBytes(_ opcode: E2EOpcode, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode.rawValue]
        let n = payload.count
        if n < 126 {
            out.append(0x80 | UInt8(n))
        } else if n <= 0xFFFF {
            out.append(0x80 | 126)
            out.append(UInt8(n >> 8)); out.append(UInt8(n & 0xFF))
        } else {
            out.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xFF)) }
        }
        let mask: [UInt8] = (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
        out.append(contentsOf: mask)
        out.reserveCapacity(out.count + n)
        for (i, byte) in payload.enumerated() { out.append(byte ^ mask[i & 3]) }
        return out
    }

    /// Sends one frame.
    public func sendFrame(_ opcode: E2EOpcode, _ payload: [UInt8], fin: Bool = true) throws {
        try stream.send(frameBytes(opcode, payload, fin: fin))
    }

    /// Sends one text message in a single frame.
    public func sendText(_ text: String) throws {
        try sendFrame(.text, Array(text.utf8))
    }

    /// Sends several text messages, one frame each, in one write.
    public func sendTexts(_ texts: [String]) throws {
        try stream.send(texts.flatMap { frameBytes(.text, Array($0.utf8)) })
    }

    /// Sends a close frame with `code` and `reason`.
    public func sendClose(code: UInt16, reason: String = "") throws {
        try sendFrame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8))
    }

    // MARK: - Receiving

    /// The next frame from the server, with continuation frames joined into one message.
    /// Server frames must be unmasked (RFC 6455 section 5.1); pings are answered when `answersPings`.
    public func receive(timeoutMs: Int = 3000) throws -> E2EWebSocketMessage {
        var fragments: [UInt8] = []
        var fragmentOpcode: E2EOpcode? = nil
        while true {
            let head = try stream.read(exactly: 2, timeoutMs: timeoutMs)
            let fin = head[0] & 0x80 != 0
            guard head[0] & 0x70 == 0 else { throw E2EError.protocolViolation("server frame with RSV bits") }
            guard let opcode = E2EOpcode(rawValue: head[0] & 0x0F) else {
                throw E2EError.protocolViolation("server frame with opcode \(head[0] & 0x0F)")
            }
            guard head[1] & 0x80 == 0 else { throw E2EError.protocolViolation("masked server frame") }
            var length = UInt64(head[1] & 0x7F)
            if length == 126 {
                let ext = try stream.read(exactly: 2, timeoutMs: timeoutMs)
                length = UInt64(ext[0]) << 8 | UInt64(ext[1])
            } else if length == 127 {
                let ext = try stream.read(exactly: 8, timeoutMs: timeoutMs)
                length = ext.reduce(0) { $0 << 8 | UInt64($1) }
            }
            guard length <= 16 << 20 else { throw E2EError.protocolViolation("server frame of \(length) bytes") }
            let payload = try stream.read(exactly: Int(length), timeoutMs: timeoutMs)
            switch opcode {
            case .ping:
                if answersPings { try sendFrame(.pong, payload) }
                return .ping(payload)
            case .pong:
                return .pong(payload)
            case .close:
                let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
                return .close(code: code, reason: String(decoding: payload.dropFirst(2), as: UTF8.self))
            case .text, .binary:
                guard fragmentOpcode == nil else { throw E2EError.protocolViolation("new message inside a fragmented one") }
                if fin { return opcode == .text ? .text(String(decoding: payload, as: UTF8.self)) : .binary(payload) }
                fragmentOpcode = opcode
                fragments = payload
            case .continuation:
                guard let first = fragmentOpcode else { throw E2EError.protocolViolation("continuation without a start") }
                fragments += payload
                if fin {
                    return first == .text ? .text(String(decoding: fragments, as: UTF8.self)) : .binary(fragments)
                }
            }
        }
    }

    /// The next text (or binary, read as UTF-8) message; pings and pongs are skipped, a close
    /// frame becomes `E2EError.closed(code:)`.
    public func receiveText(timeoutMs: Int) throws -> String {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while true {
            let left = Int(max(1, deadline - Clock.monotonicMs()))
            switch try receive(timeoutMs: left) {
            case .text(let text): return text
            case .binary(let bytes): return String(decoding: bytes, as: UTF8.self)
            case .ping, .pong: continue
            case .close(let code, _): throw E2EError.closed(code: code)
            }
        }
    }
}
