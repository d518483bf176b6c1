// ShardEngine+Attachments: a message's attachment checked, hashed and recorded; get_attachment's membership check; the set of files a shard references.

import TagarelaCrypto
import TagarelaJSON
import TagarelaModel

extension ShardEngine {
    /// The attachment of a new message `seq`: `data` decoded strictly (RFC 4648: padded, no
    /// whitespace, zero pad bits), at most `config.attachmentBytesMax`, hashed. Returns the
    /// metadata and the file the worker must make durable before the message's record.
    func checkedAttachment(_ upload: AttachmentUpload, seq: Int64) throws(RequestError) -> (Attachment, AttachmentFile) {
        guard let bytes = Base64.decode(upload.data) else {
            throw RequestError(.badRequest, "field 'attachment.data' must be standard padded base64")
        }
        guard !bytes.isEmpty else { throw RequestError(.badRequest, "field 'attachment.data' must not be empty") }
        guard bytes.count <= config.attachmentBytesMax else {
            throw RequestError(.tooLarge, "field 'attachment.data' must decode to at most \(config.attachmentBytesMax) bytes")
        }
        let sha = hex(SHA256.hash(bytes))
        let meta = Attachment(id: AttachmentRules.id(seq: seq), name: upload.name, mime: upload.mime,
                              size: bytes.count, sha256: sha)
        return (meta, AttachmentFile(sha256: sha, bytes: bytes))
    }

    /// `get_attachment`: members only. A chat that does not exist, one the reader is not a member
    /// of, and an id that names no attachment all get the same `not_found`, so the answer never
    /// tells a non-member whether a chat or a file exists (PROTOCOL.md 3.x).
    func getAttachment(_ r: Request, reader: String, chatID: String, attachmentID: String) -> EngineResult {
        guard let chat = chats[chatID], chat.isMember(reader), let seq = AttachmentRules.seq(ofID: attachmentID),
              seq <= chat.lastSeq, let meta = chat.messages[Int(seq - 1)].attachment else {
            return failure(r, ShardEngine.attachmentNotFound)
        }
        var result = EngineResult(response: [])
        result.attachmentRead = AttachmentRead(attachment: meta, type: r.type.rawValue, requestID: r.requestID)
        return result
    }

    /// The one answer for every attachment a requester may not or cannot read.
    public static let attachmentNotFound = RequestError(.notFound, "no such attachment")

    /// The `get_attachment` answer: `{"attachment": <metadata>, "data": <base64>}`.
    public static func attachmentResponse(_ read: AttachmentRead, bytes: [UInt8]) -> [UInt8] {
        var w = Responses.begin(type: read.type, requestID: read.requestID, capacity: 512 + bytes.count / 3 * 4 + 4)
        w.key("attachment"); read.attachment.write(to: &w)
        w.key("data"); w.string(Base64.encode(bytes))
        return Responses.finish(&w)
    }

    /// SHA-256 hex of every attachment a message of this shard references: the files the store
    /// keeps (the rest are swept) and the ones resharding moves with their chats.
    public func referencedAttachments() -> Set<String> {
        var out = Set<String>()
        for chat in chats.values {
            for m in chat.messages { if let a = m.attachment { out.insert(a.sha256) } }
        }
        return out
    }
}

/// An attachment's compact form in journal records and snapshots: `[sha256, name, mime, size]`
/// (the id is the message's seq, so it is not stored).
enum AttachmentImage {
    static func write(_ a: Attachment, to w: inout JSONWriter) {
        w.beginArray()
        w.string(a.sha256)
        w.string(a.name)
        w.string(a.mime)
        w.int(Int64(a.size))
        w.endArray()
    }

    static func read(_ json: JSON, seq: Int64) throws(ShardDataError) -> Attachment {
        guard let a = json.array, a.count == 4, let sha = a[0].string, sha.utf8.count == 64,
              TokenCodec.bytes(fromHex: sha) != nil, let name = a[1].string, let mime = a[2].string,
              let size = a[3].int, size > 0 else {
            throw .corrupt("message \(seq): malformed attachment")
        }
        return Attachment(id: AttachmentRules.id(seq: seq), name: name, mime: mime, size: Int(size), sha256: sha)
    }
}
