// DeliveryScanner: classifies one server JSON message with one forward pass over its keys instead of a full parse.
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
    ///
    /// One forward pass: at each `"` the next byte picks the few keys that can start there, so
    /// most quotes cost one comparison, and the pass stops as soon as every field the message
    /// kind needs is found (the long tail of a message object is never read).
    public static func scan(_ bytes: UnsafeRawBufferPointer) -> ScannedMessage {
        var out = ScannedMessage()
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 8 else { return out }
        let count = bytes.count
        var typeFound = false, isNew = false, isMessage = false, isEvent = false
        var i = 0
        scanLoop: while i + 2 < count {
            if base[i] != quote { i += 1; continue }
            let k = i + 1
            switch base[k] {
            case UInt8(ascii: "t") where !typeFound:
                if let r = value(afterKey: typeKey, at: i, base, count) {
                    typeFound = true
                    out.type = r
                    isNew = equals(base, r, messageNew)
                    isMessage = !isNew && equals(base, r, message)
                    isEvent = !isNew && !isMessage && contains(base, r, UInt8(ascii: ":"))
                    i = r.upperBound + 1
                    continue
                }
            case UInt8(ascii: "s") where typeFound:
                if out.seq < 0, base[k + 1] == UInt8(ascii: "e"), let v = int(afterKey: seqKey, at: i, base, count) {
                    out.seq = v.value
                    i = v.end
                    if isComplete(out, isNew, isMessage) { break scanLoop }
                    continue
                }
                if out.sender == nil, let r = value(afterKey: senderKey, at: i, base, count) {
                    out.sender = r
                    i = r.upperBound + 1
                    if isComplete(out, isNew, isMessage) { break scanLoop }
                    continue
                }
                if !out.ok, let end = match(statusOK, at: i, base, count) {
                    out.ok = true
                    i = end
                    continue
                }
            case UInt8(ascii: "c") where typeFound:
                if out.sentUs < 0, base[k + 1] == UInt8(ascii: "o"), let v = int(afterKey: contentKey, at: i, base, count) {
                    out.sentUs = v.value
                    i = v.end
                    if isComplete(out, isNew, isMessage) { break scanLoop }
                    continue
                }
                if out.chatID == nil, let r = value(afterKey: chatKey, at: i, base, count) {
                    out.chatID = r
                    i = r.upperBound + 1
                    if isComplete(out, isNew, isMessage) { break scanLoop }
                    continue
                }
                if out.code == nil, let r = value(afterKey: codeKey, at: i, base, count) {
                    out.code = r
                    i = r.upperBound + 1
                    continue
                }
            default:
                break
            }
            i = k
        }
        guard typeFound else { return out }
        if isNew {
            out.kind = .delivery
        } else if isMessage {
            out.kind = out.ok ? .messageAck : .messageError
        } else {
            out.kind = isEvent ? .otherEvent : .otherResponse
        }
        if out.kind != .delivery && out.kind != .messageAck {
            // Only deliveries and acks carry a message; fields of nested objects are not theirs.
            out.seq = -1
            out.sentUs = -1
            out.sender = nil
            out.chatID = nil
        }
        if isNew || isEvent { out.ok = false; out.code = nil }
        return out
    }

    /// Whether a delivery or ack has every field the bench reads (the scan may stop).
    @inline(__always)
    private static func isComplete(_ s: ScannedMessage, _ isNew: Bool, _ isMessage: Bool) -> Bool {
        guard isNew || (isMessage && s.ok) else { return false }
        return s.seq >= 0 && s.sentUs >= 0 && s.sender != nil && s.chatID != nil
    }

    private static let quote = UInt8(ascii: "\"")

    /// If `key` (starting with its quote) is at `at`, the offset just past it.
    @inline(__always)
    private static func match(_ key: [UInt8], at: Int, _ base: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        guard at + key.count <= count else { return nil }
        return key.withUnsafeBufferPointer { k -> Int? in
            memcmp(base + at, k.baseAddress!, k.count) == 0 ? at + k.count : nil
        }
    }

    /// The string value after `key` (ending with the opening quote) at `at`; it ends at the next quote.
    @inline(__always)
    private static func value(afterKey key: [UInt8], at: Int, _ base: UnsafePointer<UInt8>, _ count: Int) -> Range<Int>? {
        guard let start = match(key, at: at, base, count) else { return nil }
        var j = start
        while j < count {
            if base[j] == quote { return start..<j }
            j += 1
        }
        return nil
    }

    /// The unsigned integer after `key` at `at`, and the offset after its digits.
    @inline(__always)
    private static func int(afterKey key: [UInt8], at: Int, _ base: UnsafePointer<UInt8>, _ count: Int) -> (value: Int64, end: Int)? {
        guard var j = match(key, at: at, base, count) else { return nil }
        var v: Int64 = 0
        var digits = 0
        while j < count, digits < 18 {
            let c = base[j]
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { break }
            v = v * 10 + Int64(c - UInt8(ascii: "0"))
            digits += 1
            j += 1
        }
        return digits == 0 ? nil : (v, j)
    }

    @inline(__always)
    private static func equals(_ base: UnsafePointer<UInt8>, _ range: Range<Int>, _ literal: [UInt8]) -> Bool {
        guard range.count == literal.count else { return false }
        return literal.withUnsafeBufferPointer { memcmp(base + range.lowerBound, $0.baseAddress!, range.count) == 0 }
    }

    @inline(__always)
    private static func contains(_ base: UnsafePointer<UInt8>, _ range: Range<Int>, _ byte: UInt8) -> Bool {
        for i in range where base[i] == byte { return true }
        return false
    }

    /// Scans bytes held in an array (tests and the rare slow path).
    public static func scan(_ bytes: [UInt8]) -> ScannedMessage {
        bytes.withUnsafeBytes { scan($0) }
    }

    /// The bytes of `range` as a String (for error codes and ids on the slow path).
    public static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
