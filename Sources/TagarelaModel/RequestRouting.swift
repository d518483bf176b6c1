// RequestRouting: the validated fields a request is routed by, read by the same rules as the whole request.

import TagarelaJSON

/// What decides where a client request goes (README.md "How it is built", Routing). The gateway reads only
/// these; the worker that receives the request reads it whole (`Request.parse`).
public enum RoutingKey: Equatable {
    /// The shard owning the slot of this key: a username (register, login), the user a token
    /// names ("" for a token of no valid form: auth), a chat or group id.
    case key(String)
    /// The shard of the requesting user (logout, logout_all, change_password).
    case requester
    /// create_chat: the other user (checked on their shard first) and, with the requester, the
    /// direct chat's id.
    case directChat(userID: String)
    /// add_group_member: the user (checked on their shard first) and the group.
    case addMember(groupID: String, userID: String)
    /// create_group: a group id the gateway mints; the members are checked on their shards first.
    case newGroup(memberIDs: [String])
    /// get_user_chats: every shard's part of the page, merged by the gateway.
    case userChats(limit: Int, cursor: ChatCursor?)
    /// search_users: every shard's matches, merged by the gateway.
    case searchUsers(query: String, limit: Int)
    /// get_presence: the gateway answers alone.
    case presence(userIDs: [String])

    /// The key of a type the gateway reads whole (its route needs every field).
    init(wholeBody body: RequestBody) {
        switch body {
        case .createChat(let userID): self = .directChat(userID: userID)
        case .addGroupMember(let groupID, let userID): self = .addMember(groupID: groupID, userID: userID)
        case .createGroup(_, let memberIDs): self = .newGroup(memberIDs: memberIDs)
        case .getUserChats(let limit, let cursor): self = .userChats(limit: limit, cursor: cursor)
        case .searchUsers(let query, let limit): self = .searchUsers(query: query, limit: limit)
        case .getPresence(let userIDs): self = .presence(userIDs: userIDs)
        default:
            // `RequestParser.routingKey` reads only the types above whole; the internal types
            // never get that far without `allowInternal`, which routing does not give.
            preconditionFailure("no whole-body routing for \(body)")
        }
    }
}

/// A client request as far as the gateway reads it: what every request shares, and its key.
public struct RoutingFacts: Equatable {
    /// The request type.
    public var type: RequestType
    /// The client's `request_id`, echoed in the response.
    public var requestID: String?
    /// Where it goes.
    public var key: RoutingKey
    /// A `message`'s attachment size in bytes (0 without one), for the per-user attachment quota.
    public var attachmentBytes = 0

    /// Makes facts from parts (tests).
    public init(type: RequestType, requestID: String?, key: RoutingKey) {
        self.type = type
        self.requestID = requestID
        self.key = key
    }
}

extension Request {
    /// Reads what every client request shares and the fields its route needs, by the rules of
    /// `parse` and in its order: a request refused here gets the answer `parse` would give it.
    /// The internal types are unknown here (only the gateway makes them).
    public static func routing(_ bytes: UnsafeRawBufferPointer) throws(RequestFailure) -> RoutingFacts {
        let object = try jsonObject(bytes)
        var parser = RequestParser(object: object, allowInternal: false)
        return try parser.routing()
    }
}
