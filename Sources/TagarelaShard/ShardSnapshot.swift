// ShardSnapshot: serialises a shard's whole state to one JSON document and rebuilds an engine from it plus journal records.

import TagarelaJSON
import TagarelaModel

/// Snapshot layout (version 1), every list sorted so equal states give equal bytes:
///
///     {"version":1,
///      "users":[{"u","dn","at","salt","hash","it"}],          // by username; salt/hash hex
///      "sessions":[{"sid","u","exp"}],                        // by session id
///      "chats":[{"c","kind","name","m":[members],"at","by",  // by chat id
///                "msgs":[[sender, content, timestamp, client_msg_id|null]],  // seq = index + 1
///                "read":[{"u","h":[seq,at,seq,at,...]}]}]}   // marker steps kept (ReadMarker), by user
extension ShardEngine {
    /// Snapshot format version written by `snapshot()`.
    public static let snapshotVersion: Int64 = 1

    /// The whole state as bytes; `load(snapshot:records:config:)` rebuilds it exactly.
    public func snapshot() -> [UInt8] { image().serialised() }

    /// The state as it is now, as values that later changes to the engine do not reach, so that
    /// `serialised()` can run on another thread while the engine keeps serving. Costs one copy of
    /// each chat's handles (O(chats), no message is copied): the histories, markers, users and
    /// sessions are copy-on-write, so the engine's next write to one of them copies that one (a
    /// chat's next message copies the last chunk of its history, see `MessageLog`; the first
    /// login or registration the whole users or sessions table, which are far smaller).
    public func image() -> ShardImage {
        var images: [ChatImage] = []
        images.reserveCapacity(chats.count)
        for chat in chats.values {
            images.append(ChatImage(chat: chat.chat, messages: chat.messages, markers: chat.markers))
        }
        return ShardImage(users: users, sortedUsernames: sortedUsernames, sessions: sessions, chats: images)
    }
}

/// One chat inside a `ShardImage`.
struct ChatImage {
    let chat: Chat
    let messages: MessageLog
    let markers: [String: ReadMarker]
}

/// A shard's state at one instant, made only of values (see `ShardEngine.image()`): safe to
/// hand to another thread and serialise there.
public struct ShardImage: @unchecked Sendable {
    let users: [String: UserRecord]
    let sortedUsernames: [String]
    let sessions: [String: Session]
    /// In no particular order: sorting happens in `serialised()`, off the engine's thread.
    let chats: [ChatImage]

    /// The snapshot bytes (layout above); equal states give equal bytes.
    public func serialised() -> [UInt8] {
        var w = JSONWriter(capacity: 4096)
        w.beginObject()
        w.key("version"); w.int(ShardEngine.snapshotVersion)
        w.key("users")
        w.beginArray()
        for name in sortedUsernames {
            let u = users[name]!
            w.beginObject()
            w.key("u"); w.string(name)
            w.key("dn"); w.string(u.user.displayName)
            w.key("at"); w.int(u.user.createdAt)
            w.key("salt"); w.string(hex(u.salt))
            w.key("hash"); w.string(hex(u.hash))
            w.key("it"); w.int(u.iterations)
            w.endObject()
        }
        w.endArray()
        w.key("sessions")
        w.beginArray()
        for id in sessions.keys.sorted() {
            let s = sessions[id]!
            w.beginObject()
            w.key("sid"); w.string(id)
            w.key("u"); w.string(s.username)
            w.key("exp"); w.int(s.expiresAt)
            w.endObject()
        }
        w.endArray()
        w.key("chats")
        w.beginArray()
        for c in chats.sorted(by: { $0.chat.id < $1.chat.id }) { ShardImage.writeChat(c, to: &w) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    static func writeChat(_ c: ChatImage, to w: inout JSONWriter) {
        w.beginObject()
        w.key("c"); w.string(c.chat.id)
        w.key("kind"); w.string(c.chat.kind.rawValue)
        w.key("name"); w.stringOrNull(c.chat.name)
        w.key("m")
        w.beginArray()
        for m in c.chat.memberIDs { w.string(m) }
        w.endArray()
        w.key("at"); w.int(c.chat.createdAt)
        w.key("by"); w.string(c.chat.creatorID)
        w.key("msgs")
        w.beginArray()
        for m in c.messages {
            w.beginArray()
            w.string(m.senderID)
            w.string(m.content)
            w.int(m.timestamp)
            w.stringOrNull(m.clientMsgID)
            if let a = m.attachment { AttachmentImage.write(a, to: &w) }
            w.endArray()
        }
        w.endArray()
        w.key("read")
        w.beginArray()
        for user in c.markers.keys.sorted() {
            let marker = c.markers[user]!
            w.beginObject()
            w.key("u"); w.string(user)
            w.key("h")
            w.beginArray()
            for k in 0..<marker.seqs.count {
                w.int(marker.seqs[k])
                w.int(marker.times[k])
            }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}

extension ShardEngine {
    /// Rebuilds an engine from a snapshot (nil: empty) and the journal records written after it.
    public static func load(snapshot: [UInt8]?, records: [[UInt8]], config: EngineConfig) throws(ShardDataError) -> ShardEngine {
        let engine = ShardEngine(config: config)
        if let bytes = snapshot {
            try engine.restore(from: bytes)
        }
        for (k, record) in records.enumerated() {
            do {
                try engine.apply(record: record)
            } catch {
                throw .corrupt("journal record \(k): \(error)")
            }
        }
        return engine
    }

    func restore(from bytes: [UInt8]) throws(ShardDataError) {
        let root: JSON
        do {
            // Snapshots nest at most 5 deep; the default limit is ample.
            root = try JSON.parse(bytes)
        } catch {
            throw .corrupt("snapshot is not JSON: \(error)")
        }
        let top = FieldReader(json: root, what: "snapshot")
        guard try top.int("version") == ShardEngine.snapshotVersion else { throw .corrupt("unknown snapshot version") }
        for item in try top.array("users") {
            let r = FieldReader(json: item, what: "snapshot user")
            try apply(.userCreated(username: try r.string("u"), displayName: try r.string("dn"), createdAt: try r.int("at"),
                                   salt: try r.hexBytes("salt"), hash: try r.hexBytes("hash"), iterations: Int(try r.int("it"))))
        }
        for item in try top.array("sessions") {
            let r = FieldReader(json: item, what: "snapshot session")
            try apply(.sessionStarted(sessionID: try r.string("sid"), username: try r.string("u"), expiresAt: try r.int("exp")))
        }
        for item in try top.array("chats") {
            try restoreChat(FieldReader(json: item, what: "snapshot chat"))
        }
    }

    func restoreChat(_ r: FieldReader) throws(ShardDataError) {
        let id = try r.string("c")
        try apply(.chatCreated(id: id, kind: try r.string("kind"), name: r.optionalString("name"), members: try r.strings("m"),
                               createdAt: try r.int("at"), creator: try r.string("by")))
        let chat = chats[id]!
        let msgs = try r.array("msgs")
        chat.messages.reserveCapacity(msgs.count)
        for (k, item) in msgs.enumerated() {
            guard let a = item.array, a.count == 4 || a.count == 5, let sender = a[0].string, let content = a[1].string, let ts = a[2].int,
                  a[3].isNull || a[3].string != nil
            else { throw .corrupt("chat \(id) message \(k + 1) is malformed") }
            let attachment = a.count == 5 ? try AttachmentImage.read(a[4], seq: Int64(k + 1)) : nil
            let m = Message(chatID: id, seq: Int64(k + 1), senderID: sender, content: content, timestamp: ts, clientMsgID: a[3].string,
                            attachment: attachment)
            chat.messages.append(m)
            if let cmid = m.clientMsgID { chat.clientMsgIndex[ChatState.clientKey(sender: sender, clientMsgID: cmid)] = m.seq }
        }
        // Markers are restored from their saved steps (not re-derived from messages), through the
        // same moves as live requests: a snapshot that kept every move (older versions) is
        // pruned here to what read_at can still need, with the same answers (ReadMarker).
        for item in try r.array("read") {
            let mr = FieldReader(json: item, what: "snapshot read marker")
            let user = try mr.string("u")
            let flat = try mr.array("h")
            guard flat.count % 2 == 0 else { throw .corrupt("chat \(id) marker of \(user) is malformed") }
            var k = 0
            while k < flat.count {
                guard let s = flat[k].int, let t = flat[k + 1].int, chat.moveMarker(of: user, to: s, at: t) else {
                    throw .corrupt("chat \(id) marker of \(user) is malformed")
                }
                k += 2
            }
        }
    }
}
