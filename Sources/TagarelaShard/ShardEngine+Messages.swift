// ShardEngine+Messages: sending (the hot path), history paging, read markers and typing.

import TagarelaJSON
import TagarelaModel

extension ShardEngine {
    /// `message`: the next seq, idempotent per (sender, chat, client_msg_id). The message
    /// object is encoded once and the same bytes go into the response and `message:new`.
    /// With an attachment, the result carries its file, which the worker makes durable before
    /// the record (the record references it by hash).
    func sendMessage(_ r: Request, sender: String, chatID: String, content: String, clientMsgID: String?,
                     upload: AttachmentUpload? = nil) throws(RequestError) -> EngineResult {
        let chat = try memberChat(chatID, sender)
        if let cmid = clientMsgID, let seq = chat.clientMsgIndex[ChatState.clientKey(sender: sender, clientMsgID: cmid)] {
            // A resend: answer with what was stored; store and deliver nothing new.
            let stored = chat.messages[Int(seq - 1)]
            return EngineResult(response: Responses.ok(type: r.type.rawValue, requestID: r.requestID, key: "message",
                                                       rawValue: chat.encodeMessage(stored)))
        }
        // Store the chat's and the member set's own strings, so long ids are shared by every
        // message instead of copied into each.
        let senderID = chat.memberSet.firstIndex(of: sender).map { chat.memberSet[$0] } ?? sender
        let seq = chat.lastSeq + 1
        var files: [AttachmentFile] = []
        var attachment: Attachment?
        if let upload {
            let (meta, file) = try checkedAttachment(upload, seq: seq)
            attachment = meta
            files.append(file)
        }
        let m = Message(chatID: chat.id, seq: seq, senderID: senderID, content: content,
                        timestamp: config.clock(), clientMsgID: clientMsgID, attachment: attachment)
        var records: [[UInt8]] = []
        records.reserveCapacity(1)
        commit(.messageStored(chatID: chat.id, seq: m.seq, sender: senderID, content: content,
                              timestamp: m.timestamp, clientMsgID: clientMsgID, attachment: attachment), into: &records)
        // Markers never pass the last seq, so no one but the sender has read a new message.
        let bytes = m.encoded(readBy: [], readAt: nil)
        let response = Responses.ok(type: r.type.rawValue, requestID: r.requestID, key: "message", rawValue: bytes)
        let event = EngineEvent(userIDs: chat.chat.memberIDs, json: Events.encode(type: EventType.messageNew, payload: bytes))
        var result = EngineResult(response: response, events: [event], records: records)
        result.files = files
        return result
    }

    /// `get_messages`: one page in ascending seq. No cursor: the newest `limit`; `before_seq`:
    /// the `limit` just before it; `after_seq`: the oldest `limit` after it. `has_more` says
    /// whether more exist in the paging direction. With `mark_read`, the reader's marker
    /// moves to the newest message returned.
    func getMessages(_ r: Request, reader: String, chatID: String, beforeSeq: Int64?, afterSeq: Int64?,
                     limit: Int, markRead: Bool) throws(RequestError) -> EngineResult {
        let chat = try memberChat(chatID, reader)
        let count = chat.messages.count
        let start: Int
        let end: Int
        let hasMore: Bool
        if let after = afterSeq {
            start = Int(min(Int64(count), after))
            end = min(count, start + limit)
            hasMore = end < count
        } else {
            // Message k (0-based) has seq k+1, so "seq < before" is "index < before - 1".
            end = beforeSeq.map { Int(min(Int64(count), $0 - 1)) } ?? count
            start = max(0, end - limit)
            hasMore = start > 0
        }
        var records: [[UInt8]] = []
        var events: [EngineEvent] = []
        if markRead && end > start {
            if let e = moveMarker(chat, reader: reader, to: chat.messages[end - 1].seq, records: &records) { events.append(e) }
        }
        var w = Responses.begin(type: r.type.rawValue, requestID: r.requestID, capacity: 128 + 300 * (end - start))
        w.key("messages")
        w.beginArray()
        for k in start..<end { chat.writeMessage(chat.messages[k], to: &w) }
        w.endArray()
        w.key("has_more"); w.bool(hasMore)
        return EngineResult(response: Responses.finish(&w), events: events, records: records)
    }

    /// `mark_read`: forward only; a seq past the last message counts as the last message.
    func markRead(_ r: Request, reader: String, chatID: String, seq: Int64) throws(RequestError) -> EngineResult {
        let chat = try memberChat(chatID, reader)
        var records: [[UInt8]] = []
        var events: [EngineEvent] = []
        if let e = moveMarker(chat, reader: reader, to: min(seq, chat.lastSeq), records: &records) { events.append(e) }
        return EngineResult(response: Responses.ok(type: r.type.rawValue, requestID: r.requestID), events: events, records: records)
    }

    /// Moves a marker forward, journals it and returns the `message:read` event for the
    /// other members; nil when the marker would not move.
    func moveMarker(_ chat: ChatState, reader: String, to seq: Int64, records: inout [[UInt8]]) -> EngineEvent? {
        guard seq > chat.marker(of: reader) else { return nil }
        let now = config.clock()
        commit(.markerMoved(chatID: chat.id, userID: reader, seq: seq, at: now), into: &records)
        let others = chat.chat.memberIDs.filter { $0 != reader }
        guard !others.isEmpty else { return nil }
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.key("chat_id"); w.string(chat.id)
        w.key("user_id"); w.string(reader)
        w.key("seq"); w.int(seq)
        w.key("read_at"); w.int(now)
        w.endObject()
        return EngineEvent(userIDs: others, json: Events.encode(type: EventType.messageRead, payload: w.bytes))
    }

    /// `typing`: `chat:typing {chat_id, user_id}` to the other members; nothing is stored.
    func typing(_ r: Request, user: String, chatID: String) throws(RequestError) -> EngineResult {
        let chat = try memberChat(chatID, user)
        var events: [EngineEvent] = []
        let others = chat.chat.memberIDs.filter { $0 != user }
        if !others.isEmpty {
            var w = JSONWriter(capacity: 64)
            w.beginObject()
            w.key("chat_id"); w.string(chatID)
            w.key("user_id"); w.string(user)
            w.endObject()
            events.append(EngineEvent(userIDs: others, json: Events.encode(type: EventType.chatTyping, payload: w.bytes)))
        }
        return EngineResult(response: Responses.ok(type: r.type.rawValue, requestID: r.requestID), events: events)
    }
}
