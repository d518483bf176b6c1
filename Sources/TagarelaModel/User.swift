// User: the public user object of PROTOCOL.md 2.1 and its JSON encoding.

import TagarelaJSON

/// A registered user as clients see it. `id == username` (the permanent, lower-case id).
public struct User: Equatable {
    /// The lower-case username, also the user id.
    public var username: String
    /// The name shown to others (defaults to the username).
    public var displayName: String
    /// Registration time, milliseconds since the Unix epoch.
    public var createdAt: Int64

    /// Makes a user.
    public init(username: String, displayName: String, createdAt: Int64) {
        self.username = username
        self.displayName = displayName
        self.createdAt = createdAt
    }

    /// The user id (the username).
    public var id: String { username }

    /// Writes `{"id","username","display_name","created_at"}`.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.string(username)
        w.key("username"); w.string(username)
        w.key("display_name"); w.string(displayName)
        w.key("created_at"); w.int(createdAt)
        w.endObject()
    }

    /// The encoded user object.
    public func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 96)
        write(to: &w)
        return w.bytes
    }
}
