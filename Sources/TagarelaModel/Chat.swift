// Chat: the chat object of PROTOCOL.md 2.2 (direct or group) and its per-reader JSON encoding.

import TagarelaJSON

/// Direct chats have exactly two members and no member changes; groups have a name and a creator.
public enum ChatKind: String, Equatable {
    case direct
    case group
}

/// A chat's identity and membership. The per-reader fields (`last_message`, `unread_count`)
/// are supplied when encoding because they depend on the history and on who reads.
public struct Chat: Equatable {
    /// `d:<a>:<b>` for direct chats, the gateway-minted id for groups.
    public var id: String
    /// Direct or group.
    public var kind: ChatKind
    /// The group name; nil (JSON null) for direct chats.
    public var name: String?
    /// Members in the order they joined.
    public var memberIDs: [String]
    /// Creation time, milliseconds since the Unix epoch.
    public var createdAt: Int64
    /// Who created it; only they may remove other members from a group.
    public var creatorID: String

    /// Makes a chat.
    public init(id: String, kind: ChatKind, name: String?, memberIDs: [String], createdAt: Int64, creatorID: String) {
        self.id = id
        self.kind = kind
        self.name = name
        self.memberIDs = memberIDs
        self.createdAt = createdAt
        self.creatorID = creatorID
    }

    /// Writes `{"id","kind","name","member_ids","created_at","last_message","unread_count"}`.
    /// - Parameters:
    ///   - lastMessage: the encoded last message object, or nil for `null`.
    ///   - unreadCount: messages after the reader's read marker.
    public func write(to w: inout JSONWriter, lastMessage: [UInt8]?, unreadCount: Int) {
        w.beginObject()
        w.key("id"); w.string(id)
        w.key("kind"); w.string(kind.rawValue)
        w.key("name"); w.stringOrNull(name)
        w.key("member_ids")
        w.beginArray()
        for m in memberIDs { w.string(m) }
        w.endArray()
        w.key("created_at"); w.int(createdAt)
        w.key("last_message")
        if let m = lastMessage { w.raw(m) } else { w.null() }
        w.key("unread_count"); w.int(unreadCount)
        w.endObject()
    }

    /// The encoded chat object for one reader.
    public func encoded(lastMessage: [UInt8]?, unreadCount: Int) -> [UInt8] {
        var w = JSONWriter(capacity: 160 + (lastMessage?.count ?? 0))
        write(to: &w, lastMessage: lastMessage, unreadCount: unreadCount)
        return w.bytes
    }
}
