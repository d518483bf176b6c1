// OutputBounds: the most bytes each kind of response and event can take, computed from the protocol's field limits.

import TagarelaJSON

/// Upper bounds on encoded output, derived from `FieldLimits` by encoding the worst case of
/// each object, so that the bounds of the output path (the gateway's per-client queue, the
/// link frame) are computed from the protocol instead of guessed (PROTOCOL.md 3.6).
///
/// The worst case of a string is 6 bytes per character: a C0 control character is written as
/// `\u00XX` (RFC 8259 section 7); any other Unicode scalar takes at most 4 bytes of UTF-8, or
/// 2 when escaped (`\"`, `\\`). So 4000 characters of content can take 24,000 bytes. Usernames
/// are ASCII (1 byte per character); every other string is counted at 6. Integers are counted
/// at 20 characters (`Int64.min`).
///
/// With the default limits (computed by the tests, rounded):
/// - a message object: 24,002 (content) + 3 x 404 (chat id in `id`, `chat_id`,
///   `chat_session_id`) + 386 (`client_msg_id`) + 20 x 35 (`read_by`) + about 1.3 KB of
///   `attachment` metadata (a 255-character name of 4-byte characters) + keys and integers
///   = about 27.9 KB (`messageBytesMax`);
/// - a chat object: a message + 1000 x 35 (`member_ids`) + 602 (`name`) + 404 (`id`) + keys
///   = about 64 KB (`chatBytesMax`);
/// - a get_user_chats page: 50 chats = about 3.2 MB; a get_messages page: 200 messages =
///   about 5.6 MB, the largest response (`responseBytesMax`); a get_attachment answer about
///   700 KB.
public enum OutputBounds {
    /// The most bytes one character of a JSON string can take (see above).
    public static let escapedBytesPerCharacterMax = 6

    /// A string of `n` characters that takes the most bytes: control characters.
    static func worstString(_ n: Int) -> String { String(repeating: "\u{1}", count: n) }
    /// Usernames (and so user ids) are `a-z 0-9 _ . -`: one byte per character.
    static let worstUsername = String(repeating: "a", count: FieldLimits.usernameMax)
    /// Server-minted chat ids are ASCII, but the bound does not rely on it.
    static let worstChatID = worstString(FieldLimits.chatIDMax)
    static let worstRequestID = worstString(FieldLimits.idMax)

    /// The largest attachment metadata: a name cannot hold control characters, so its worst
    /// character is 4 bytes of UTF-8; a media type is ASCII; the id is a seq.
    static let worstAttachment = Attachment(id: String(Int64.max), name: String(repeating: "\u{10FFFF}", count: FieldLimits.attachmentNameMax),
                                            mime: String(repeating: "a", count: FieldLimits.attachmentMimeMax),
                                            size: Int(Int64.min), sha256: String(repeating: "f", count: 64))

    /// The largest get_attachment answer: the metadata and the base64 of the largest file.
    public static let attachmentResponseBytesMax: Int = {
        envelope(.getAttachment) { w in
            w.key("attachment"); worstAttachment.write(to: &w)
            w.key("data"); w.string("")
        } + AttachmentRules.base64Count(ofBytes: FieldLimits.attachmentBytesMax)
    }()

    /// The largest message object (PROTOCOL.md 2.3): the longest content, ids and
    /// `client_msg_id`, `read_by` at its cap, every integer at 20 characters.
    public static let messageBytesMax: Int = {
        let m = Message(chatID: worstChatID, seq: .min, senderID: worstUsername,
                        content: worstString(FieldLimits.contentMax), timestamp: .min,
                        clientMsgID: worstString(FieldLimits.idMax), attachment: worstAttachment)
        return m.encoded(readBy: Array(repeating: worstUsername, count: FieldLimits.readByIDsMax),
                         readCount: Int(Int64.min), readAt: .min).count
    }()

    /// The largest chat object (PROTOCOL.md 2.2): a full group with the longest name and the
    /// largest last message.
    public static let chatBytesMax: Int = {
        let chat = Chat(id: worstChatID, kind: .direct, name: worstString(FieldLimits.groupNameMax),
                        memberIDs: Array(repeating: worstUsername, count: FieldLimits.groupMembersMax),
                        createdAt: .min, creatorID: worstUsername)
        return chat.encoded(lastMessage: [UInt8](repeating: 0, count: messageBytesMax),
                            unreadCount: Int(Int64.min)).count
    }()

    /// The largest user object (PROTOCOL.md 2.1).
    public static let userBytesMax: Int = {
        User(username: worstUsername, displayName: worstString(FieldLimits.displayNameMax), createdAt: .min).encoded().count
    }()

    /// An ok response of `type` with the longest `request_id`, carrying `fill`'s members.
    static func envelope(_ type: RequestType, _ fill: (inout JSONWriter) -> Void) -> Int {
        var w = Responses.begin(type: type.rawValue, requestID: worstRequestID)
        fill(&w)
        return Responses.finish(&w).count
    }

    /// `count` items of at most `itemBytes` each, comma-separated, in an array already counted empty.
    static func items(_ count: Int, _ itemBytes: Int) -> Int { count * itemBytes + max(0, count - 1) }

    /// The largest get_user_chats page (and a shard's part of one).
    public static let chatsPageBytesMax: Int = {
        envelope(.getUserChats) { w in
            w.key("chats"); w.beginArray(); w.endArray()
            w.key("has_more"); w.bool(false)
            w.key("next_cursor"); w.string(worstString(FieldLimits.chatsCursorMax))
        } + items(FieldLimits.chatsLimitMax, chatBytesMax)
    }()

    /// The largest get_messages page.
    public static let messagesPageBytesMax: Int = {
        envelope(.getMessages) { w in
            w.key("messages"); w.beginArray(); w.endArray()
            w.key("has_more"); w.bool(false)
        } + items(FieldLimits.messagesLimitMax, messageBytesMax)
    }()

    /// The largest search_users answer.
    public static let usersPageBytesMax: Int = {
        envelope(.searchUsers) { w in w.key("users"); w.beginArray(); w.endArray() }
            + items(FieldLimits.searchLimitMax, userBytesMax)
    }()

    /// The largest answer carrying one chat (create_chat, create_group, member changes).
    public static let chatResponseBytesMax: Int = {
        envelope(.removeGroupMember) { w in w.key("chat"); w.raw([]) } + chatBytesMax
    }()

    /// The largest event: `{"type":"chat:updated","payload":<chat>}` (a message:new carries a
    /// message, which is smaller).
    public static let eventBytesMax: Int = Events.encode(type: EventType.chatUpdated, payload: []).count + chatBytesMax

    /// The largest response of any request: the bound every output path must hold. The error
    /// answers and the small acknowledgements are far below it.
    public static let responseBytesMax: Int = max(chatsPageBytesMax, messagesPageBytesMax, usersPageBytesMax,
                                                  chatResponseBytesMax, attachmentResponseBytesMax)
}
