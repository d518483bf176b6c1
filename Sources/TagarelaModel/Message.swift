// Message: the message object of PROTOCOL.md 2.3 and its JSON encoding.

import TagarelaJSON

/// One stored chat message. Read state (`read_by`, `read_at`) lives with the chat's markers
/// and is supplied when encoding.
public struct Message: Equatable {
    /// The chat it belongs to.
    public var chatID: String
    /// Position in the chat: 1, 2, 3... without gaps.
    public var seq: Int64
    /// Who sent it.
    public var senderID: String
    /// The text, 1-4000 characters.
    public var content: String
    /// When the shard stored it, milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// The sender's idempotency key, if given.
    public var clientMsgID: String?
    /// The attached file's metadata, if any (its bytes live in the shard's store).
    public var attachment: Attachment?

    /// Makes a message.
    public init(chatID: String, seq: Int64, senderID: String, content: String, timestamp: Int64, clientMsgID: String?,
                attachment: Attachment? = nil) {
        self.chatID = chatID
        self.seq = seq
        self.senderID = senderID
        self.content = content
        self.timestamp = timestamp
        self.clientMsgID = clientMsgID
        self.attachment = attachment
    }

    /// The message id: `<chat_id>/<seq>`, unique and stable because `seq` never repeats in a chat.
    public var id: String { Message.id(chatID: chatID, seq: seq) }

    /// The id of message `seq` of `chatID`.
    public static func id(chatID: String, seq: Int64) -> String { "\(chatID)/\(seq)" }

    /// Writes `{"id","chat_id","chat_session_id","seq","sender_id","content","timestamp",
    /// "client_msg_id","read_by","read_count","read_at"}`; `client_msg_id` and `read_at` may be null.
    /// `attachment` follows `content` only when the message has one (text messages, the bulk of
    /// fan-out, stay as they were).
    /// - Parameters:
    ///   - readBy: the readers to list; at most `FieldLimits.readByIDsMax` are written, so a
    ///     message object stays within `OutputBounds.messageBytesMax` however large the group.
    ///   - readCount: how many members other than the sender have read it (`readBy.count`
    ///     when nil), which may exceed the ids listed.
    public func write(to w: inout JSONWriter, readBy: [String], readCount: Int? = nil, readAt: Int64?) {
        w.beginObject()
        w.key("id"); w.string(id)
        w.key("chat_id"); w.string(chatID)
        w.key("chat_session_id"); w.string(chatID)
        w.key("seq"); w.int(seq)
        w.key("sender_id"); w.string(senderID)
        w.key("content"); w.string(content)
        if let a = attachment {
            w.key("attachment"); a.write(to: &w)
        }
        w.key("timestamp"); w.int(timestamp)
        w.key("client_msg_id"); w.stringOrNull(clientMsgID)
        w.key("read_by")
        w.beginArray()
        for r in readBy.prefix(FieldLimits.readByIDsMax) { w.string(r) }
        w.endArray()
        w.key("read_count"); w.int(readCount ?? readBy.count)
        w.key("read_at")
        if let t = readAt { w.int(t) } else { w.null() }
        w.endObject()
    }

    /// The encoded message object (see `write`).
    public func encoded(readBy: [String], readCount: Int? = nil, readAt: Int64?) -> [UInt8] {
        var w = JSONWriter(capacity: 200 + content.utf8.count)
        write(to: &w, readBy: readBy, readCount: readCount, readAt: readAt)
        return w.bytes
    }
}
