// RequestParser: reads and bounds-checks the fields of each request type from a JSON object: all of them (the worker) or those its route needs (the gateway).

import TagarelaJSON

/// Field extraction with the exact errors of PROTOCOL.md: a missing or wrongly typed field,
/// or one out of its bounds, is `bad_request` naming the field.
struct RequestParser {
    let object: JSONObject
    let allowInternal: Bool
    var type = "error"
    var requestID: String?

    init(object: JSONObject, allowInternal: Bool) {
        self.object = object
        self.allowInternal = allowInternal
    }

    /// The whole request: what every request shares, then every field of its type (the worker).
    mutating func parse() throws(RequestFailure) -> Request {
        let kind = try envelope()
        do {
            return Request(type: kind, requestID: requestID, body: try body(for: kind))
        } catch {
            throw fieldFailure(error, of: kind)
        }
    }

    /// What every request shares, then only the fields its route reads (the gateway).
    mutating func routing() throws(RequestFailure) -> RoutingFacts {
        let kind = try envelope()
        do {
            var facts = RoutingFacts(type: kind, requestID: requestID, key: try routingKey(for: kind))
            if kind == .message, let data = object["attachment"]?["data"]?.string {
                // What the per-user attachment quota charges (Limits): the decoded size, read
                // from the length; the shard refuses data that is not base64 or too long.
                facts.attachmentBytes = min(AttachmentRules.decodedByteCount(base64: data), FieldLimits.attachmentBytesMax)
            }
            return facts
        } catch {
            throw fieldFailure(error, of: kind)
        }
    }

    /// The checks every request shares (PROTOCOL.md 2): `type` and `request_id`.
    private mutating func envelope() throws(RequestFailure) -> RequestType {
        // The type first, so even a bad request_id is answered under the right type.
        let rawType = object["type"]?.string
        if let t = rawType, FieldRules.hasAtMost(t, FieldLimits.idMax) { type = t }
        // `null` is absent, for `request_id` as for every optional field (PROTOCOL.md 3.4).
        if let rid = object["request_id"], !rid.isNull {
            guard let s = rid.string else { throw fail(.badField("request_id", "a string")) }
            guard FieldRules.hasAtMost(s, FieldLimits.idMax) else {
                throw fail(RequestError(.badRequest, "field 'request_id' must be at most \(FieldLimits.idMax) characters"))
            }
            requestID = s
        }
        guard let t = rawType else { throw fail(.badField("type", "a string")) }
        guard let kind = RequestType(rawValue: t), allowInternal || !kind.isInternal else {
            throw fail(RequestError(.badRequest, "unknown request type"))
        }
        return kind
    }

    private func fieldFailure(_ e: RequestError, of kind: RequestType) -> RequestFailure {
        var failure = fail(e)
        failure.knownType = kind
        return failure
    }

    /// The fields the gateway routes by, read by the same readers and in the same order as
    /// `body(for:)` reads them first: a request refused here is refused there with the same
    /// answer, and what is not read here is the worker's to refuse. Types the gateway serves
    /// itself or checks across shards are read whole.
    func routingKey(for kind: RequestType) throws(RequestError) -> RoutingKey {
        switch kind {
        case .register, .login:
            return .key(try username())
        case .auth:
            // A token of no valid form still reaches a shard, which answers `bad_credentials`
            // as for any token it does not know: a forged token must not look like a bad request.
            return .key(FieldRules.tokenUsername(try token()) ?? "")
        case .logout, .logoutAll, .changePassword:
            return .requester
        case .message, .getMessages, .markRead, .typing, .getAttachment:
            return .key(try chatID("chat_id"))
        case .removeGroupMember, .leaveGroup:
            return .key(try chatID("group_id"))
        case .createChat, .addGroupMember, .createGroup, .getUserChats, .searchUsers, .getPresence,
             .usersExist, .userChats:
            return RoutingKey(wholeBody: try body(for: kind))
        }
    }

    func fail(_ e: RequestError) -> RequestFailure {
        RequestFailure(type: type, requestID: requestID, error: e)
    }

    func body(for kind: RequestType) throws(RequestError) -> RequestBody {
        switch kind {
        case .register:
            let username = try username()
            let password = try password()
            var display = try optionalString("display_name", max: FieldLimits.displayNameMax)
            if display?.isEmpty == true { display = nil }
            return .register(username: username, password: password, displayName: display)
        case .login:
            return .login(username: try username(), password: try password())
        case .auth:
            return .auth(token: try token())
        case .logout:
            return .logout
        case .logoutAll:
            return .logoutAll
        case .changePassword:
            return .changePassword(oldPassword: try password("old_password"), newPassword: try password("new_password"))
        case .searchUsers:
            let query = FieldRules.asciiLowercased(try string("query", max: FieldLimits.queryMax, allowEmpty: true))
            let limit = try limit(default: FieldLimits.searchLimitDefault, max: FieldLimits.searchLimitMax)
            return .searchUsers(query: query, limit: limit)
        case .createChat:
            return .createChat(userID: try userID("user_id"))
        case .createGroup:
            let name = try string("group_name", max: FieldLimits.groupNameMax)
            return .createGroup(name: name, memberIDs: try userIDs("member_ids", max: FieldLimits.memberIDsMax))
        case .addGroupMember:
            return .addGroupMember(groupID: try chatID("group_id"), userID: try userID("user_id"))
        case .removeGroupMember:
            return .removeGroupMember(groupID: try chatID("group_id"), userID: try userID("user_id"))
        case .leaveGroup:
            return .leaveGroup(groupID: try chatID("group_id"))
        case .getUserChats:
            return .getUserChats(limit: try chatsLimit(), cursor: try chatsCursor())
        case .message:
            let chat = try chatID("chat_id")
            let upload = try attachment()
            // Text, an attachment, or both: with an attachment the text may be absent or empty.
            let content = upload == nil ? try string("content", max: FieldLimits.contentMax)
                : try optionalString("content", max: FieldLimits.contentMax) ?? ""
            let cmid = try optionalString("client_msg_id", max: FieldLimits.idMax)
            return .message(chatID: chat, content: content, clientMsgID: cmid, attachment: upload)
        case .getAttachment:
            let chat = try chatID("chat_id")
            return .getAttachment(chatID: chat, attachmentID: try string("attachment_id", max: FieldLimits.idMax))
        case .getMessages:
            let chat = try chatID("chat_id")
            let before = try optionalInt("before_seq", min: 1)
            let after = try optionalInt("after_seq", min: 0)
            if before != nil && after != nil {
                throw RequestError(.badRequest, "give 'before_seq' or 'after_seq', not both")
            }
            let limit = try limit(default: FieldLimits.messagesLimitDefault, max: FieldLimits.messagesLimitMax)
            var markRead = true
            if let v = object["mark_read"], !v.isNull {
                guard let b = v.bool else { throw .badField("mark_read", "a boolean") }
                markRead = b
            }
            return .getMessages(chatID: chat, beforeSeq: before, afterSeq: after, limit: limit, markRead: markRead)
        case .markRead:
            let chat = try chatID("chat_id")
            guard let seq = try optionalInt("seq", min: 0) else { throw .badField("seq", "an integer") }
            return .markRead(chatID: chat, seq: seq)
        case .typing:
            return .typing(chatID: try chatID("chat_id"))
        case .getPresence:
            return .getPresence(userIDs: try userIDs("user_ids", max: FieldLimits.presenceIDsMax, keepInvalid: true))
        case .usersExist:
            return .usersExist(userIDs: try userIDs("user_ids", max: FieldLimits.usersExistMax, keepInvalid: true))
        case .userChats:
            return .userChats(userID: try userID("user_id"), limit: try chatsLimit(), cursor: try chatsCursor())
        }
    }

    func string(_ name: String, max: Int, allowEmpty: Bool = false) throws(RequestError) -> String {
        guard let s = object[name]?.string else { throw .badField(name, "a string") }
        guard allowEmpty || !s.isEmpty else { throw RequestError(.badRequest, "field '\(name)' must not be empty") }
        guard FieldRules.hasAtMost(s, max) else {
            throw RequestError(.badRequest, "field '\(name)' must be at most \(max) characters")
        }
        return s
    }

    func optionalString(_ name: String, max: Int) throws(RequestError) -> String? {
        guard let v = object[name], !v.isNull else { return nil }
        guard v.string != nil else { throw .badField(name, "a string") }
        return try string(name, max: max, allowEmpty: true)
    }

    func optionalInt(_ name: String, min: Int64) throws(RequestError) -> Int64? {
        guard let v = object[name], !v.isNull else { return nil }
        guard let n = v.int else { throw .badField(name, "an integer") }
        guard n >= min else { throw RequestError(.badRequest, "field '\(name)' must be at least \(min)") }
        return n
    }

    func limit(default value: Int, max: Int) throws(RequestError) -> Int {
        guard let n = try optionalInt("limit", min: 1) else { return value }
        guard n <= Int64(max) else { throw RequestError(.badRequest, "field 'limit' must be at most \(max)") }
        return Int(n)
    }

    func chatsLimit() throws(RequestError) -> Int {
        try limit(default: FieldLimits.chatsLimitDefault, max: FieldLimits.chatsLimitMax)
    }

    /// The optional `cursor` of get_user_chats: a `next_cursor` this server gave out.
    func chatsCursor() throws(RequestError) -> ChatCursor? {
        guard let text = try optionalString("cursor", max: FieldLimits.chatsCursorMax) else { return nil }
        guard let cursor = ChatCursor(text: text) else {
            throw RequestError(.badRequest, "field 'cursor' must be a 'next_cursor' from get_user_chats")
        }
        return cursor
    }

    func username() throws(RequestError) -> String {
        guard let raw = object["username"]?.string else { throw .badField("username", "a string") }
        guard let u = FieldRules.normalizedUsername(raw) else {
            throw RequestError(.badRequest, "field 'username' must be 3-32 characters of a-z, 0-9, '_', '.', '-'")
        }
        return u
    }

    func token() throws(RequestError) -> String {
        try string("token", max: FieldLimits.tokenMax)
    }

    func password(_ name: String = "password") throws(RequestError) -> String {
        guard let p = object[name]?.string else { throw .badField(name, "a string") }
        let n = p.utf8.count
        guard n >= FieldLimits.passwordMinBytes, n <= FieldLimits.passwordMaxBytes else {
            throw RequestError(.badRequest, "field '\(name)' must be 8 to 1024 bytes")
        }
        return p
    }

    /// A user id is a username: lower-cased; one that cannot be a username names nobody.
    func userID(_ name: String) throws(RequestError) -> String {
        let raw = try string(name, max: FieldLimits.idMax)
        guard let u = FieldRules.normalizedUsername(raw) else { throw .userNotFound }
        return u
    }

    /// A list of user ids, de-duplicated by their bytes in first-seen order. With `keepInvalid`,
    /// ids that cannot be usernames are kept with ASCII case folded (they are reported missing
    /// or offline as sent; PROTOCOL.md 3.1).
    func userIDs(_ name: String, max: Int, keepInvalid: Bool = false) throws(RequestError) -> [String] {
        guard let items = object[name]?.array else { throw .badField(name, "an array of strings") }
        guard items.count <= max else { throw RequestError(.badRequest, "field '\(name)' must hold at most \(max) ids") }
        var out: [String] = []
        out.reserveCapacity(items.count)
        var seen = Set<ByteKey>()
        for item in items {
            guard let raw = item.string else { throw .badField(name, "an array of strings") }
            guard FieldRules.hasAtMost(raw, FieldLimits.idMax) else {
                throw RequestError(.badRequest, "ids in '\(name)' must be at most \(FieldLimits.idMax) characters")
            }
            // An empty id is out of bounds (as for a single id field), not a user that is missing.
            guard keepInvalid || !raw.isEmpty else {
                throw RequestError(.badRequest, "ids in '\(name)' must not be empty")
            }
            let id: String
            if let u = FieldRules.normalizedUsername(raw) {
                id = u
            } else if keepInvalid {
                id = FieldRules.asciiLowercased(raw)
            } else {
                throw .userNotFound
            }
            if seen.insert(ByteKey(id)).inserted { out.append(id) }
        }
        return out
    }

    /// The optional `attachment` of a message: `{"name","mime","data"}`, each checked here but
    /// `data` decoded by the shard (strictly; PROTOCOL.md 2.3). Its length is bounded here by the
    /// protocol's ceiling, so an oversize upload is refused before anything decodes it.
    func attachment() throws(RequestError) -> AttachmentUpload? {
        guard let v = object["attachment"], !v.isNull else { return nil }
        guard let a = v.object else { throw .badField("attachment", "an object") }
        guard let name = a["name"]?.string, AttachmentRules.validName(name) else {
            throw RequestError(.badRequest, "field 'attachment.name' must be 1-\(FieldLimits.attachmentNameMax) characters "
                               + "without '/', '\\' or control characters")
        }
        guard let rawMime = a["mime"]?.string, let mime = AttachmentRules.normalizedMime(rawMime) else {
            throw RequestError(.badRequest, "field 'attachment.mime' must be a media type 'type/subtype' "
                               + "(at most \(FieldLimits.attachmentMimeMax) characters)")
        }
        guard let data = a["data"]?.string else { throw .badField("attachment.data", "a base64 string") }
        guard data.utf8.count <= AttachmentRules.base64Count(ofBytes: FieldLimits.attachmentBytesMax) else {
            throw RequestError(.tooLarge, "field 'attachment.data' must decode to at most \(FieldLimits.attachmentBytesMax) bytes")
        }
        return AttachmentUpload(name: name, mime: mime, data: data)
    }

    func chatID(_ name: String) throws(RequestError) -> String {
        try string(name, max: FieldLimits.chatIDMax)
    }
}
