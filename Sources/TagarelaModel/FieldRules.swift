// FieldRules: the bounds of every request field (PROTOCOL.md 2.1-2.5) and the checks that apply them.

/// Every field bound in one place, each with the reason it exists.
public enum FieldLimits {
    /// Usernames are ids and routing keys: short and from a small alphabet (PROTOCOL.md 2.1).
    public static let usernameMin = 3
    /// See `usernameMin`.
    public static let usernameMax = 32
    /// Below 8 bytes a password is guessable; above 1024 the slow hash becomes a DoS lever.
    public static let passwordMinBytes = 8
    /// See `passwordMinBytes`.
    public static let passwordMaxBytes = 1024
    /// Display names are shown in lists.
    public static let displayNameMax = 64
    /// Group names are shown in lists.
    public static let groupNameMax = 100
    /// Bounds the fan-out of one create_group.
    public static let memberIDsMax = 100
    /// Message size bound: keeps history and fan-out frames small.
    public static let contentMax = 4000
    /// request_id, client_msg_id and user ids are echoed and stored: at most 64 characters.
    public static let idMax = 64
    /// Chat ids: the longest id the server mints is a direct chat id, `d:` + two 32-character
    /// usernames joined by `:` = 67 characters.
    public static let chatIDMax = 67
    /// Tokens are `<username>.<43 base64url characters>` (76 at most); anything longer is junk.
    public static let tokenMax = 128
    /// Prefix searches longer than a username cannot match anything.
    public static let queryMax = 64
    /// search_users default and bound.
    public static let searchLimitDefault = 20
    /// See `searchLimitDefault`.
    public static let searchLimitMax = 100
    /// get_messages default and bound.
    public static let messagesLimitDefault = 50
    /// See `messagesLimitDefault`.
    public static let messagesLimitMax = 200
    /// get_user_chats default page: a chat list screen's worth (PROTOCOL.md 2.2).
    public static let chatsLimitDefault = 20
    /// get_user_chats largest page: 50 chats of at most `OutputBounds.chatBytesMax` (about 64 KB
    /// each, a full group with a maximum-size last message) keep a page near 3 MB.
    public static let chatsLimitMax = 50
    /// A get_user_chats cursor: `<activity ms> <chat id>`, 20 + 1 + 67 characters at most.
    public static let chatsCursorMax = 20 + 1 + chatIDMax
    /// Largest group: bounds one chat's fan-out, its `member_ids` in every chat object (35 bytes
    /// per member: a 1000-member list is 35 KB) and its read-state work (PROTOCOL.md 3.6). The
    /// shard's setting (`EngineConfig.groupMembersMax`) may lower it, never raise it, because
    /// every response bound (`OutputBounds`) is computed from this value.
    public static let groupMembersMax = 1000
    /// `read_by` in a message object lists at most this many ids (the first readers in member
    /// order); `read_count` gives the total. Without it a message of a 1000-member group would
    /// carry 35 KB of ids, in every page of history (PROTOCOL.md 2.3).
    public static let readByIDsMax = 20
    /// get_presence asks about at most this many users.
    public static let presenceIDsMax = 100
    /// users_exist (gateway-made) checks at most this many ids at once.
    public static let usersExistMax = 1000
    /// The protocol's ceiling on one attachment's decoded bytes (PROTOCOL.md 2.3): 512 KiB is a
    /// photo or a document, and its base64 (699,052 bytes) plus the largest rest of a `message`
    /// request (about 25 KB) stays under the 1 MiB WebSocket message and NDJSON line
    /// (`Limits`), so a maximum-size attachment fits one request in every transport. The
    /// shard's setting (`EngineConfig.attachmentBytesMax`) may lower it, never raise it.
    public static let attachmentBytesMax = 512 * 1024
    /// An attachment's file name: 255 characters, the common file-system bound on a name.
    public static let attachmentNameMax = 255
    /// An attachment's media type, in bytes (it is ASCII): RFC 6838 section 4.2 bounds a type
    /// and a subtype at 127 characters each; real ones are far shorter, and this is the header
    /// value the HTTP route sends.
    public static let attachmentMimeMax = 127
}

/// Field checks shared by the gateway and the shard engine.
public enum FieldRules {
    /// The stored (lower-case) form of `raw` if it is a valid username, nil otherwise.
    /// Rule: 3-32 characters of `a-z 0-9 _ . -`, compared case-insensitively.
    public static func normalizedUsername(_ raw: String) -> String? {
        let utf8 = raw.utf8
        guard utf8.count >= FieldLimits.usernameMin, utf8.count <= FieldLimits.usernameMax else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count)
        var changed = false
        for c in utf8 {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                out.append(c)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                out.append(c + 32)
                changed = true
            default:
                return nil
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : raw
    }

    /// `raw` with only `A-Z` lower-cased. Usernames are ASCII, so their case-insensitivity is
    /// ASCII's; Unicode lower-casing would fold other text onto usernames (KELVIN SIGN U+212A
    /// becomes "k", so "\u{212A}im" would name "kim"). PROTOCOL.md 3.1.
    public static func asciiLowercased(_ raw: String) -> String {
        guard raw.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return raw }
        return String(decoding: raw.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 },
                      as: UTF8.self)
    }

    /// The id a client's user id means: the stored form of a valid username, else the text
    /// with only ASCII case folded (it names no user; it is reported missing or offline as sent).
    public static func userIDKey(_ raw: String) -> String {
        normalizedUsername(raw) ?? asciiLowercased(raw)
    }

    /// True when `s` has at most `max` characters. Characters are Unicode scalars: a fixed,
    /// cheap count that every client language can reproduce (grapheme rules change with
    /// Unicode versions). Pure-ASCII-sized strings skip the count.
    @inline(__always)
    public static func hasAtMost(_ s: String, _ max: Int) -> Bool {
        let bytes = s.utf8.count
        if bytes <= max { return true }
        if bytes > max * 4 { return false }
        return s.unicodeScalars.count <= max
    }

    /// Number of characters (Unicode scalars) in `s`.
    public static func characterCount(_ s: String) -> Int { s.unicodeScalars.count }

    /// The direct chat id of two users: `d:` and the two sorted usernames joined by `:`
    /// (`:` cannot appear in a username, so the id is unambiguous). Both calls
    /// `directChatID(a, b)` and `directChatID(b, a)` give the same id.
    /// Sorted by bytes (for usernames, which are ASCII, the same as `<`).
    public static func directChatID(_ a: String, _ b: String) -> String {
        a.utf8.lexicographicallyPrecedes(b.utf8) ? "d:\(a):\(b)" : "d:\(b):\(a)"
    }

    /// The username a token belongs to: the part before the last `.` (usernames may contain
    /// dots; the base64url tail never does). Used to route `auth` to the user's shard.
    public static func tokenUsername(_ token: String) -> String? {
        guard let dot = token.utf8.lastIndex(of: UInt8(ascii: ".")) else { return nil }
        return normalizedUsername(String(token[..<dot]))
    }
}
