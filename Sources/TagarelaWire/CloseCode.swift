// CloseCode: the WebSocket close status codes (RFC 6455 section 7.4) and which are valid on the wire.

/// A WebSocket close status code with a name (RFC 6455 section 7.4.1, IANA registry).
///
/// Codes 3000-4999 are valid on the wire but have no name here; `WebSocketConnection` carries
/// them as raw `UInt16`.
public enum CloseCode: UInt16, Sendable {
    case normalClosure = 1000
    case goingAway = 1001
    case protocolError = 1002
    case unsupportedData = 1003
    /// Reserved: never sent on the wire (RFC 6455 section 7.4.1).
    case noStatusReceived = 1005
    /// Reserved: never sent on the wire (RFC 6455 section 7.4.1).
    case abnormalClosure = 1006
    case invalidPayloadData = 1007
    case policyViolation = 1008
    case messageTooBig = 1009
    case mandatoryExtension = 1010
    case internalError = 1011
    case serviceRestart = 1012
    case tryAgainLater = 1013
    case badGateway = 1014
    /// Reserved: never sent on the wire (RFC 6455 section 7.4.1).
    case tlsHandshake = 1015

    /// Whether a peer may send `code` in a close frame: 1000-1003 and 1007-1014 (defined by
    /// RFC 6455 and the IANA registry) and 3000-4999 (registered and private use). Everything
    /// else, the reserved 1004, 1005, 1006 and 1015 included, is a protocol error (section 7.4.2).
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }
}
