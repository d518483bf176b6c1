// WebSocketError: every way a peer can break RFC 6455, each mapped to the close code it earns.

/// A violation by the peer, named after the rule it broke, with its close code and a short
/// reason for the close frame (RFC 6455 section 7.4.1).
public enum WebSocketError: Error, Equatable, Sendable {
    /// RSV2 or RSV3 set, or RSV1 without permessage-deflate negotiated (section 5.2).
    case reservedBitsSet
    /// Opcode 3-7 or 11-15 (section 5.2).
    case unknownOpcode
    /// A client frame without the MASK bit (section 5.1).
    case unmaskedFrame
    /// A control frame with more than 125 payload bytes (section 5.5).
    case controlFrameTooLong
    /// A control frame without FIN (section 5.5).
    case fragmentedControlFrame
    /// A continuation frame with no fragmented message in progress (section 5.4).
    case unexpectedContinuation
    /// A new text or binary frame while a fragmented message is unfinished (section 5.4).
    case expectedContinuation
    /// A 64-bit payload length with its most significant bit set (section 5.2).
    case lengthMostSignificantBitSet
    /// A message longer than the configured maximum (section 7.4.1, 1009).
    case messageTooBig
    /// A text message that is not valid UTF-8 (section 8.1, 1007).
    case invalidUTF8
    /// A close frame with a one-byte body (section 5.5.1).
    case closePayloadTooShort
    /// A close code that may not appear on the wire (section 7.4).
    case invalidCloseCode
    /// A close reason that is not valid UTF-8 (section 5.5.1, 1007).
    case invalidCloseReason
    /// RSV1 (permessage-deflate's "compressed" bit) on a control or continuation frame: RFC 7692
    /// section 6 allows it only on a data message's first frame.
    case compressedBitMisplaced
    /// A compressed message that is not valid raw DEFLATE (RFC 7692 section 6.2: fail the
    /// connection; 1007, its payload is inconsistent with its type).
    case invalidCompressedData

    /// The code of the close frame the server answers with.
    public var closeCode: CloseCode {
        switch self {
        case .messageTooBig: return .messageTooBig
        case .invalidUTF8, .invalidCloseReason, .invalidCompressedData: return .invalidPayloadData
        case .reservedBitsSet, .unknownOpcode, .unmaskedFrame, .controlFrameTooLong, .fragmentedControlFrame,
             .unexpectedContinuation, .expectedContinuation, .lengthMostSignificantBitSet,
             .closePayloadTooShort, .invalidCloseCode, .compressedBitMisplaced:
            return .protocolError
        }
    }

    /// A short reason for the close frame (ASCII, well under the 123-byte limit).
    public var reason: String {
        switch self {
        case .reservedBitsSet: return "reserved bits set"
        case .unknownOpcode: return "unknown opcode"
        case .unmaskedFrame: return "client frames must be masked"
        case .controlFrameTooLong: return "control frame too long"
        case .fragmentedControlFrame: return "fragmented control frame"
        case .unexpectedContinuation: return "continuation without a message"
        case .expectedContinuation: return "expected a continuation frame"
        case .lengthMostSignificantBitSet: return "invalid payload length"
        case .messageTooBig: return "message too big"
        case .invalidUTF8: return "invalid UTF-8 in text message"
        case .closePayloadTooShort: return "close payload of one byte"
        case .invalidCloseCode: return "invalid close code"
        case .invalidCloseReason: return "invalid UTF-8 in close reason"
        case .compressedBitMisplaced: return "RSV1 on a control or continuation frame"
        case .invalidCompressedData: return "invalid compressed data"
        }
    }
}
