// WebSocketFrame: the vocabulary of RFC 6455 section 5 framing (opcodes, frame header, masking key).

/// A frame opcode (RFC 6455 section 5.2). Values 3-7 and 11-15 are reserved and unknown here.
public enum WebSocketOpcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// Control frames have the high bit of the opcode set (RFC 6455 section 5.5).
    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// The header of one frame, as read from the wire (RFC 6455 section 5.2).
public struct WebSocketFrameHeader: Equatable, Sendable {
    /// FIN: this is the last frame of its message.
    public var fin: Bool
    /// RSV1-3 as the low three bits; must be 0 with no extension negotiated.
    public var rsv: UInt8
    /// The four opcode bits as sent, reserved values included.
    public var opcodeBits: UInt8
    /// The masking key, present exactly when the MASK bit is set.
    public var maskKey: WebSocketMaskKey?
    /// The payload length in bytes (at most 2^63 - 1, section 5.2).
    public var payloadLength: UInt64

    public init(fin: Bool, rsv: UInt8, opcodeBits: UInt8, maskKey: WebSocketMaskKey?, payloadLength: UInt64) {
        self.fin = fin
        self.rsv = rsv
        self.opcodeBits = opcodeBits
        self.maskKey = maskKey
        self.payloadLength = payloadLength
    }

    /// The opcode, or nil for a reserved value.
    public var opcode: WebSocketOpcode? { WebSocketOpcode(rawValue: opcodeBits) }
}

/// A 32-bit masking key (RFC 6455 section 5.3), first key byte most significant.
public struct WebSocketMaskKey: Equatable, Sendable {
    /// The four key bytes in wire order, big-endian.
    public var value: UInt32

    /// A key from its wire bytes packed big-endian (`0x37FA213D` is `37 fa 21 3d`).
    public init(_ value: UInt32) { self.value = value }

    /// A key from its four wire bytes.
    public init(bytes b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        value = UInt32(b0) << 24 | UInt32(b1) << 16 | UInt32(b2) << 8 | UInt32(b3)
    }

    /// Key byte `index` (0-3) in wire order.
    public subscript(index: Int) -> UInt8 { UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * (index & 3))) }

    /// XORs the key into `buffer` in place, starting at key byte `offset` (0-3), and returns the
    /// key offset for the byte after the buffer. Masking and unmasking are the same operation.
    /// Works eight bytes at a time: this is the one per-byte loop on the receive path.
    @discardableResult
    public func apply(to buffer: UnsafeMutableRawBufferPointer, offset: Int) -> Int {
        guard let base = buffer.baseAddress else { return offset & 3 }
        let count = buffer.count
        var littleEndianPattern: UInt64 = 0
        for j in 0..<8 { littleEndianPattern |= UInt64(self[(offset + j) & 3]) << UInt64(8 * j) }
        // The native value whose bytes in memory are the key, rotated to `offset`.
        let pattern = UInt64(littleEndian: littleEndianPattern)
        var index = 0
        while index + 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            base.storeBytes(of: word ^ pattern, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < count {
            base.storeBytes(of: base.load(fromByteOffset: index, as: UInt8.self) ^ self[offset + index],
                            toByteOffset: index, as: UInt8.self)
            index += 1
        }
        return (offset + count) & 3
    }
}
