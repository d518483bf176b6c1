// DeliveryScanner: classifies one server JSON message with a few substring searches instead of a full parse.
#if canImport(Glibc)
import Glibc
#endif

/// What a minimal scan found in one server message. Ranges are byte offsets into the scanned buffer.
public struct ScannedMessage: Equatable {
    /// The kind of server message, as far as the load generator cares.
    public enum Kind: Equatable {
        /// A `message:new` event (a delivery).
        case delivery
        /// The `status: ok` response to a `message` request (an acknowledgement).
        case messageAck
        /// The `status: error` response to a `message` request.
        case messageError
        /// Any other response (has no `:` in its type); `status` and `code` tell how it went.
        case otherResponse
        /// Any other event (`chat:new`, `message:read`, ...).
        case otherEvent
        /// No `"type":"...` found: not a protocol message.
        case unreadable
    }

    /// The kind of message.
    public var kind: Kind = .unreadable
    /// The value of `type`.
    public var type: Range<Int> = 0..<0
    /// `seq` of the message carried (delivery or ack), or -1.
    public var seq: Int64 = -1
    /// The microsecond timestamp after `t=` at the start of `content`, or -1.
    public var sentUs: Int64 = -1
    /// The value of `sender_id` (delivery or ack), if found.
    public var sender: Range<Int>? = nil
    /// The value of `chat_id` (delivery or ack), if found.
    public var chatID: Range<Int>? = nil
    /// The value of `code` (error responses), if found.
    public var code: Range<Int>? = nil
    /// Whether `"status":"ok"` was found (responses only).
    public var ok: Bool = false

    /// Creates an empty (unreadable) result.
    public init() {}
}

/// Scans the server's compact JSON for the few fields the load generator needs.
///
/// It relies on two facts of the protocol (PROTOCOL.md 2): keys are written without spaces, and
/// every string value is JSON-escaped, so a key pattern such as `"seq":` can never match inside a
/// string value (a quote inside content is written `\"`). It relies on `type` being the first key
/// of the top-level object only to pick the first `"type":"` match; message objects carry no `type`.
public enum DeliveryScanner {
    private static let typeKey = Array(#""type":""#.utf8)
    private static let seqKey = Array(#""seq":"#.utf8)
    private static let contentKey = Array(#""content":"t="#.utf8)
    private static let senderKey = Array(#""sender_id":""#.utf8)
    private static let chatKey = Array(#""chat_id":""#.utf8)
    private static let codeKey = Array(#""code":""#.utf8)
    private static let statusOK = Array(#""status":"ok""#.utf8)
    private static let messageNew = Array("message:new".utf8)
    private static let message = Array("message".utf8)

    /// Scans one complete JSON text (a WebSocket text message or an NDJSON line).
    public static func scan(_ bytes: UnsafeRawBufferPointer) -> ScannedMessage {
        var out = ScannedMessage()
        guard let typeValue = stringValue(after: typeKey, in: bytes, from: 0) else { return out }
        out.type = typeValue
        let isNew = equals(bytes, typeValue, messageNew)
        let isMessage = !isNew && equals(bytes, typeValue, message)
        let isEvent = !isNew && !isMessage && contains(bytes, typeValue, UInt8(ascii: ":"))
        if !isNew && !isEvent {
            out.ok = find(statusOK, in: bytes, from: typeValue.upperBound) != nil
            if !out.ok { out.code = stringValue(after: codeKey, in: bytes, from: typeValue.upperBound) }
        }
        if isNew || (isMessage && out.ok) {
            out.kind = isNew ? .delivery : .messageAck
            out.seq = intValue(after: seqKey, in: bytes, from: typeValue.upperBound) ?? -1
            out.sentUs = intValue(after: contentKey, in: bytes, from: typeValue.upperBound) ?? -1
            out.sender = stringValue(after: senderKey, in: bytes, from: typeValue.upperBound)
            out.chatID = stringValue(after: chatKey, in: bytes, from: typeValue.upperBound)
        } else if isMessage {
            out.kind = .messageError
        } else {
            out.kind = isEvent ? .otherEvent : .otherResponse
        }
        return out
    }

    /// Scans bytes held in an array (tests and the rare slow path).
    public static func scan(_ bytes: [UInt8]) -> ScannedMessage {
        bytes.withUnsafeBytes { scan($0) }
    }

    /// Offset of the first occurrence of `needle` at or after `from`, or nil.
    @inline(__always)
    static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard let base = bytes.baseAddress, from < bytes.count else { return nil }
        // memchr for the first byte, memcmp for the rest (Glibc's memmem needs _GNU_SOURCE,
        // which the Swift Glibc module does not expose).
        return needle.withUnsafeBytes { n -> Int? in
            let first = Int32(n[0])
            let rest = n.count - 1
            var at = from
            let end = bytes.count - n.count          // last offset where the needle still fits
            while at <= end {
                guard let hit = memchr(base + at, first, end - at + 1) else { return nil }
                let offset = base.distance(to: UnsafeRawPointer(hit))
                if rest == 0 || memcmp(base + offset + 1, n.baseAddress! + 1, rest) == 0 { return offset }
                at = offset + 1
            }
            return nil
        }
    }

    /// The range of the string value right after `key` (which ends with the opening quote);
    /// the value ends at the next quote (the ids and codes it is used for contain no escapes).
    static func stringValue(after key: [UInt8], in bytes: UnsafeRawBufferPointer, from: Int) -> Range<Int>? {
        guard let at = find(key, in: bytes, from: from) else { return nil }
        let start = at + key.count
        var i = start
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\"") { return start..<i }
            i += 1
        }
        return nil
    }

    /// The unsigned decimal integer right after `key`, or nil when there are no digits (or too many).
    static func intValue(after key: [UInt8], in bytes: UnsafeRawBufferPointer, from: Int) -> Int64? {
        guard let at = find(key, in: bytes, from: from) else { return nil }
        var i = at + key.count
        var value: Int64 = 0
        var digits = 0
        while i < bytes.count, digits < 18 {
            let c = bytes[i]
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { break }
            value = value * 10 + Int64(c - UInt8(ascii: "0"))
            digits += 1
            i += 1
        }
        return digits == 0 ? nil : value
    }

    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: [UInt8]) -> Bool {
        guard range.count == literal.count else { return false }
        var j = 0
        for i in range {
            if bytes[i] != literal[j] { return false }
            j += 1
        }
        return true
    }

    @inline(__always)
    static func contains(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ byte: UInt8) -> Bool {
        for i in range where bytes[i] == byte { return true }
        return false
    }

    /// The bytes of `range` as a String (for error codes and ids on the slow path).
    public static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
