// Attachment: a message's file (PROTOCOL.md 2.3): the upload a `message` request carries, the metadata a message object shows, and their field rules.

import TagarelaJSON

/// What a `message` request carries in `attachment`: `{"name","mime","data"}`. `data` is kept
/// as the client's base64 text; the shard decodes it (strictly) and hashes it, because this
/// module has no base64 of its own and the gateway needs only its size (`decodedByteCount`).
public struct AttachmentUpload: Equatable, Sendable {
    /// The file name to offer, already checked (`AttachmentRules.validName`).
    public var name: String
    /// The media type, already checked (`AttachmentRules.validMime`), lower-cased.
    public var mime: String
    /// Standard padded base64 (RFC 4648 section 4), not yet decoded.
    public var data: String

    /// Makes an upload from checked parts.
    public init(name: String, mime: String, data: String) {
        self.name = name
        self.mime = mime
        self.data = data
    }
}

/// A stored attachment as message objects, events and history show it:
/// `{"id","name","mime","size","sha256"}`. The bytes are fetched apart (`get_attachment`).
public struct Attachment: Equatable, Sendable {
    /// Per-chat id: the seq of the message that carries it, in decimal (PROTOCOL.md 3.x): unique
    /// in its chat, stable across restarts and resharding, and it says nothing a member cannot see.
    public var id: String
    /// The file name the sender gave.
    public var name: String
    /// The media type the sender gave.
    public var mime: String
    /// Decoded size in bytes.
    public var size: Int
    /// SHA-256 of the bytes, lower-case hex: the name of the file in the shard's store.
    public var sha256: String

    /// Makes attachment metadata.
    public init(id: String, name: String, mime: String, size: Int, sha256: String) {
        self.id = id
        self.name = name
        self.mime = mime
        self.size = size
        self.sha256 = sha256
    }

    /// Writes `{"id","name","mime","size","sha256"}`.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.string(id)
        w.key("name"); w.string(name)
        w.key("mime"); w.string(mime)
        w.key("size"); w.int(Int64(size))
        w.key("sha256"); w.string(sha256)
        w.endObject()
    }
}

/// The rules of the attachment fields, shared by the request parser, the shard and the gateway.
public enum AttachmentRules {
    /// The attachment id of the message with `seq`.
    public static func id(seq: Int64) -> String { String(seq) }

    /// The message seq an attachment id names, nil for text that is no id this server gives out
    /// (a decimal without sign or leading zero, at most 19 digits).
    public static func seq(ofID id: String) -> Int64? {
        let u = id.utf8
        guard !u.isEmpty, u.count <= 19, u.first != UInt8(ascii: "0"),
              u.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int64(id)
    }

    /// A name is offered as a download's file name: 1-255 characters (the common file-system
    /// bound), no `/` or `\` (it must never name a path) and no control characters (C0, DEL,
    /// C1: they break headers and terminals), and not `.` or `..`.
    public static func validName(_ name: String) -> Bool {
        guard !name.isEmpty, FieldRules.hasAtMost(name, FieldLimits.attachmentNameMax), name != ".", name != ".." else {
            return false
        }
        for s in name.unicodeScalars {
            let v = s.value
            if v < 0x20 || (v >= 0x7F && v <= 0x9F) || v == 0x2F || v == 0x5C { return false }
        }
        return true
    }

    /// `type/subtype` of RFC 9110 token characters (no parameters), at most
    /// `FieldLimits.attachmentMimeMax` bytes; nil when invalid, else lower-cased (media types
    /// are case-insensitive, and one spelling keeps the stored value and `Content-Type` plain).
    public static func normalizedMime(_ mime: String) -> String? {
        let u = Array(mime.utf8)
        guard u.count >= 3, u.count <= FieldLimits.attachmentMimeMax,
              let slash = u.firstIndex(of: UInt8(ascii: "/")), slash > 0, slash < u.count - 1 else { return nil }
        for (k, c) in u.enumerated() where k != slash {
            guard isTokenByte(c) else { return nil }
        }
        return FieldRules.asciiLowercased(mime)
    }

    /// RFC 9110 section 5.6.2 `tchar`.
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }

    /// The decoded size of padded base64 text of `count` characters ending in `padding` `=`s:
    /// what the gateway charges against the per-user attachment bytes (Limits) without decoding.
    public static func decodedByteCount(base64 text: String) -> Int {
        let u = text.utf8
        var padding = 0
        if u.last == UInt8(ascii: "=") { padding += 1 }
        if u.count >= 2, u[u.index(u.endIndex, offsetBy: -2)] == UInt8(ascii: "=") { padding += 1 }
        return max(0, u.count / 4 * 3 - padding)
    }

    /// The most base64 characters `bytes` decoded bytes take (padded).
    public static func base64Count(ofBytes bytes: Int) -> Int { (bytes + 2) / 3 * 4 }
}
