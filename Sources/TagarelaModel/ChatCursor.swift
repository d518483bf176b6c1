// ChatCursor: the order of get_user_chats (newest activity first, ties by chat id) and the cursor that pages through it.

/// A position in a user's chat list, and the one rule that orders the list.
///
/// Chats are listed by activity (the last message's timestamp, else the creation time),
/// newest first, and chats with the same activity by id, ascending. Every shard sorts its part
/// by this rule and the gateway merges the parts by it, so the order is total and the same
/// everywhere: a page is "the first `limit` chats after the cursor" on each shard, and the
/// merge of those is exactly the first `limit` after the cursor overall (PROTOCOL.md 2.2).
///
/// On the wire a cursor is the text `<activity> <chat id>` (`next_cursor` of a page, `cursor`
/// of the next request). Clients treat it as opaque.
public struct ChatCursor: Equatable, Sendable {
    /// Milliseconds since the Unix epoch: the chat's last message time, else its creation time.
    public var activity: Int64
    /// The chat id, the tie-break.
    public var chatID: String

    /// Makes a cursor at the chat with this activity and id.
    public init(activity: Int64, chatID: String) {
        self.activity = activity
        self.chatID = chatID
    }

    /// True when the chat (`activity`, `id`) comes before `other` in the list.
    public static func precedes(_ a: ChatCursor, _ b: ChatCursor) -> Bool {
        a.activity != b.activity ? a.activity > b.activity : a.chatID < b.chatID
    }

    /// True when the chat at `self` is listed after the chat at `cursor` (so it belongs to the
    /// page that starts at `cursor`).
    public func isAfter(_ cursor: ChatCursor) -> Bool { ChatCursor.precedes(cursor, self) }

    /// The wire text: `<activity> <chat id>`.
    public var text: String { "\(activity) \(chatID)" }

    /// Parses the wire text; nil when it is not a cursor (a number, one space, a non-empty id
    /// of at most `FieldLimits.chatIDMax` characters).
    public init?(text: String) {
        guard let space = text.utf8.firstIndex(of: UInt8(ascii: " ")),
              let activity = Int64(text[..<space]) else { return nil }
        let id = String(text[text.utf8.index(after: space)...])
        guard !id.isEmpty, FieldRules.hasAtMost(id, FieldLimits.chatIDMax) else { return nil }
        self.activity = activity
        self.chatID = id
    }
}
