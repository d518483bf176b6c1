// WebSocketFrameDecoder: the pure incremental RFC 6455 section 5.2 frame parser over a read buffer.

/// Splits bytes into frame headers and payload chunks, unmasking payloads in place.
///
/// Like uWebSockets and SwiftNIO's `WSParser`, it is only a parser: the state is an enum that
/// carries the partially read header (at most 14 bytes' worth of fields), and payload bytes are
/// never copied; they are handed out as slices of the caller's buffer, unmasked in place. The
/// header is reported as soon as it is complete, so the caller can refuse a length before any
/// of the body is buffered. The only rule checked here is structural (a 64-bit length with its
/// top bit set); everything semantic (RSV, opcodes, masking, sizes) is the caller's.
public struct WebSocketFrameDecoder: Sendable {
    /// One step of decoding.
    public enum Event {
        /// A frame header is complete; its payload follows.
        case header(WebSocketFrameHeader)
        /// The next payload bytes of the current frame, already unmasked, pointing into the input
        /// (valid only as long as the input is). `frameEnd` marks the frame's last chunk; a frame
        /// with an empty payload yields one empty chunk with `frameEnd` set, so every frame
        /// produces exactly one header and at least one chunk.
        case payload(UnsafeMutableRawBufferPointer, frameEnd: Bool)
    }

    private enum State: Sendable {
        case firstByte
        case secondByte(first: UInt8)
        case extendedLength(first: UInt8, masked: Bool, bytesLeft: UInt8, length: UInt64)
        case maskKey(first: UInt8, length: UInt64, bytesLeft: UInt8, key: UInt32)
        case payload(key: WebSocketMaskKey?, remaining: UInt64, keyOffset: UInt8)
    }

    private var state: State = .firstByte

    /// A decoder expecting the first byte of a frame.
    public init() {}

    /// True between frames: nothing of a frame has been read and nothing is pending.
    public var isAtFrameBoundary: Bool {
        if case .firstByte = state { return true }
        return false
    }

    /// Decodes from `buffer[index...]`, advancing `index` past what it used, and returns the next
    /// event, or nil once every byte is used and more input is needed.
    ///
    /// Call it in a loop until it returns nil; the caller may stop early and resume later from
    /// the same `index` (or drop the rest when the connection closes).
    public mutating func next(_ buffer: UnsafeMutableRawBufferPointer, at index: inout Int) throws(WebSocketError) -> Event? {
        while true {
            if case .payload(let key, let remaining, let keyOffset) = state {
                let available = buffer.count - index
                if remaining > 0 && available == 0 { return nil }
                let take = Int(min(remaining, UInt64(available)))
                let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[index..<(index + take)])
                index += take
                let newOffset = key.map { UInt8($0.apply(to: chunk, offset: Int(keyOffset))) } ?? 0
                let left = remaining - UInt64(take)
                state = left == 0 ? .firstByte : .payload(key: key, remaining: left, keyOffset: newOffset)
                return .payload(chunk, frameEnd: left == 0)
            }
            guard index < buffer.count else { return nil }
            let byte = buffer[index]
            index += 1
            if let header = try advanceHeader(byte) { return .header(header) }
        }
    }

    /// Consumes one header byte; returns the header once its last byte is in.
    private mutating func advanceHeader(_ byte: UInt8) throws(WebSocketError) -> WebSocketFrameHeader? {
        switch state {
        case .firstByte:
            state = .secondByte(first: byte)
        case .secondByte(let first):
            let masked = byte & 0x80 != 0
            let length7 = byte & 0x7F
            // Section 5.2: 126 means a 16-bit length follows, 127 a 64-bit one.
            switch length7 {
            case 126: state = .extendedLength(first: first, masked: masked, bytesLeft: 2, length: 0)
            case 127: state = .extendedLength(first: first, masked: masked, bytesLeft: 8, length: 0)
            default: return lengthDone(first: first, masked: masked, length: UInt64(length7))
            }
        case .extendedLength(let first, let masked, let bytesLeft, let length):
            let newLength = length << 8 | UInt64(byte)
            // Section 5.2: "the most significant bit MUST be 0"; refuse at the first byte.
            if bytesLeft == 8 && byte & 0x80 != 0 { throw .lengthMostSignificantBitSet }
            if bytesLeft > 1 {
                state = .extendedLength(first: first, masked: masked, bytesLeft: bytesLeft - 1, length: newLength)
            } else {
                return lengthDone(first: first, masked: masked, length: newLength)
            }
        case .maskKey(let first, let length, let bytesLeft, let key):
            let newKey = key << 8 | UInt32(byte)
            if bytesLeft > 1 {
                state = .maskKey(first: first, length: length, bytesLeft: bytesLeft - 1, key: newKey)
            } else {
                return headerDone(first: first, key: WebSocketMaskKey(newKey), length: length)
            }
        case .payload:
            preconditionFailure("payload bytes are handled in next(_:at:)")
        }
        return nil
    }

    private mutating func lengthDone(first: UInt8, masked: Bool, length: UInt64) -> WebSocketFrameHeader? {
        if masked {
            state = .maskKey(first: first, length: length, bytesLeft: 4, key: 0)
            return nil
        }
        return headerDone(first: first, key: nil, length: length)
    }

    private mutating func headerDone(first: UInt8, key: WebSocketMaskKey?, length: UInt64) -> WebSocketFrameHeader {
        state = .payload(key: key, remaining: length, keyOffset: 0)
        return WebSocketFrameHeader(fin: first & 0x80 != 0, rsv: (first >> 4) & 0x7, opcodeBits: first & 0xF,
                                    maskKey: key, payloadLength: length)
    }
}
