// WebSocketFrameEncoder: writes RFC 6455 section 5.2 frames, unmasked for the server, masked for clients.

/// Encodes frames. Server frames go unmasked (section 5.1); the load generator, acting as a
/// client, passes a masking key. A fan-out event is encoded once and the bytes shared.
public enum WebSocketFrameEncoder {
    /// The header size for a payload of `payloadCount` bytes: 2, 4 or 10 bytes, plus 4 when masked.
    public static func headerCount(payloadCount: Int, masked: Bool) -> Int {
        let base = payloadCount < 126 ? 2 : (payloadCount <= 0xFFFF ? 4 : 10)
        return base + (masked ? 4 : 0)
    }

    /// Appends a frame header to `output`, with the shortest length encoding (section 5.2
    /// requires the minimal one).
    /// `compressed` sets RSV1 (RFC 7692 section 6: a compressed message's first frame).
    public static func encodeHeader(opcode: WebSocketOpcode, payloadCount: Int, fin: Bool = true,
                                    maskKey: WebSocketMaskKey? = nil, compressed: Bool = false,
                                    into output: inout [UInt8]) {
        precondition(payloadCount >= 0, "negative payload length")
        output.append((fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode.rawValue)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        if payloadCount < 126 {
            output.append(maskBit | UInt8(payloadCount))
        } else if payloadCount <= 0xFFFF {
            output.append(maskBit | 126)
            output.append(UInt8(truncatingIfNeeded: payloadCount >> 8))
            output.append(UInt8(truncatingIfNeeded: payloadCount))
        } else {
            output.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) {
                output.append(UInt8(truncatingIfNeeded: UInt64(payloadCount) >> UInt64(shift)))
            }
        }
        if let key = maskKey {
            for index in 0..<4 { output.append(key[index]) }
        }
    }

    /// Writes an unmasked, final frame header (a server frame, section 5.1) at the start of
    /// `output`, which must hold `headerCount(payloadCount:masked: false)` bytes; returns that count.
    @discardableResult
    public static func writeHeader(opcode: WebSocketOpcode, payloadCount: Int, compressed: Bool = false,
                                   to output: UnsafeMutableRawBufferPointer) -> Int {
        precondition(payloadCount >= 0, "negative payload length")
        let count = headerCount(payloadCount: payloadCount, masked: false)
        precondition(output.count >= count, "header buffer too small")
        output[0] = 0x80 | (compressed ? 0x40 : 0) | opcode.rawValue
        if payloadCount < 126 {
            output[1] = UInt8(payloadCount)
        } else if payloadCount <= 0xFFFF {
            output[1] = 126
            output[2] = UInt8(truncatingIfNeeded: payloadCount >> 8)
            output[3] = UInt8(truncatingIfNeeded: payloadCount)
        } else {
            output[1] = 127
            for index in 0..<8 {
                output[2 + index] = UInt8(truncatingIfNeeded: UInt64(payloadCount) >> UInt64(56 - 8 * index))
            }
        }
        return count
    }

    /// A whole frame: header plus `payload`, masked with `maskKey` when given.
    public static func encode(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, fin: Bool = true,
                              maskKey: WebSocketMaskKey? = nil, compressed: Bool = false) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(headerCount(payloadCount: payload.count, masked: maskKey != nil) + payload.count)
        encodeHeader(opcode: opcode, payloadCount: payload.count, fin: fin, maskKey: maskKey, compressed: compressed,
                     into: &output)
        let start = output.count
        output.append(contentsOf: payload)
        if let key = maskKey {
            _ = output.withUnsafeMutableBytes { whole in
                key.apply(to: UnsafeMutableRawBufferPointer(rebasing: whole[start...]), offset: 0)
            }
        }
        return output
    }

    /// `encode(opcode:payload:fin:maskKey:)` over any byte collection.
    public static func encode<C: Collection>(opcode: WebSocketOpcode, payload: C, fin: Bool = true,
                                             maskKey: WebSocketMaskKey? = nil, compressed: Bool = false) -> [UInt8]
        where C.Element == UInt8 {
        if let frame = payload.withContiguousStorageIfAvailable({
            encode(opcode: opcode, payload: UnsafeRawBufferPointer($0), fin: fin, maskKey: maskKey, compressed: compressed)
        }) {
            return frame
        }
        return Array(payload).withUnsafeBytes {
            encode(opcode: opcode, payload: $0, fin: fin, maskKey: maskKey, compressed: compressed)
        }
    }

    /// A close frame with `code` (big-endian) and a UTF-8 `reason` of at most 123 bytes
    /// (section 5.5.1: control payloads are at most 125 bytes). `code` nil gives an empty body.
    public static func encodeClose(code: UInt16?, reason: String = "", maskKey: WebSocketMaskKey? = nil) -> [UInt8] {
        guard let code = code else { return encode(opcode: .close, payload: [UInt8](), maskKey: maskKey) }
        let reasonBytes = Array(reason.utf8)
        precondition(reasonBytes.count <= Limits.controlFramePayloadBytesMax - 2, "close reason longer than 123 bytes")
        let payload = [UInt8(truncatingIfNeeded: code >> 8), UInt8(truncatingIfNeeded: code)] + reasonBytes
        return encode(opcode: .close, payload: payload, maskKey: maskKey)
    }
}
