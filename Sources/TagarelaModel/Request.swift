// Request: the typed form of every client and gateway-internal request of PROTOCOL.md section 2.

import TagarelaJSON

/// Every request `type` the server knows. Raw values are the wire spellings.
public enum RequestType: String, CaseIterable, Equatable, Sendable {
    case register, login, auth, logout
    case logoutAll = "logout_all"
    case changePassword = "change_password"
    case searchUsers = "search_users"
    case createChat = "create_chat"
    case createGroup = "create_group"
    case addGroupMember = "add_group_member"
    case removeGroupMember = "remove_group_member"
    case leaveGroup = "leave_group"
    case getUserChats = "get_user_chats"
    case message
    case getMessages = "get_messages"
    case markRead = "mark_read"
    case typing
    case getAttachment = "get_attachment"
    case getPresence = "get_presence"
    /// Gateway-internal: which of these user ids does this shard not know?
    case usersExist = "users_exist"
    /// Gateway-internal: this shard's part of get_user_chats for a given user.
    case userChats = "user_chats"

    /// Only the gateway may send these (LinkRequest flag bit0); from a client they are unknown.
    public var isInternal: Bool { self == .usersExist || self == .userChats }

    /// Every type a client may send, in declaration order (the internal ones left out).
    public static let clientTypes: [RequestType] = allCases.filter { !$0.isInternal }

    /// Requests that change which user or session a connection is bound to: the gateway holds
    /// the connection's later requests until one of these is answered.
    public var changesIdentity: Bool {
        switch self {
        case .register, .login, .auth, .logout, .logoutAll, .changePassword: return true
        default: return false
        }
    }

    /// Everything but register, login and auth needs an authenticated connection (2.1).
    public var needsAuthentication: Bool {
        switch self {
        case .register, .login, .auth, .usersExist, .userChats: return false
        default: return true
        }
    }
}

/// The validated fields of one request. Usernames and user ids are already lower-case.
public enum RequestBody: Equatable {
    case register(username: String, password: String, displayName: String?)
    case login(username: String, password: String)
    case auth(token: String)
    case logout
    case logoutAll
    case changePassword(oldPassword: String, newPassword: String)
    case searchUsers(query: String, limit: Int)
    case createChat(userID: String)
    case createGroup(name: String, memberIDs: [String])
    case addGroupMember(groupID: String, userID: String)
    case removeGroupMember(groupID: String, userID: String)
    case leaveGroup(groupID: String)
    /// One page of the requester's chats: the first `limit` after `cursor` (from the start when nil).
    case getUserChats(limit: Int, cursor: ChatCursor?)
    /// Text (`content`, "" when absent), an attachment, or both; never neither.
    case message(chatID: String, content: String, clientMsgID: String?, attachment: AttachmentUpload? = nil)
    /// The bytes of one attachment of a chat (members only).
    case getAttachment(chatID: String, attachmentID: String)
    /// At most one of `beforeSeq` and `afterSeq` is set.
    case getMessages(chatID: String, beforeSeq: Int64?, afterSeq: Int64?, limit: Int, markRead: Bool)
    case markRead(chatID: String, seq: Int64)
    case typing(chatID: String)
    case getPresence(userIDs: [String])
    case usersExist(userIDs: [String])
    /// This shard's part of a get_user_chats page of `userID`.
    case userChats(userID: String, limit: Int, cursor: ChatCursor?)
}

/// The `endSessionID` of an engine result or link reply that ends every session of the
/// connection's user (`logout_all`, `change_password`); a real session id is hex, never this.
public enum SessionScope {
    /// Every session of the user.
    public static let everySession = "*"
}

/// One parsed, validated request.
public struct Request: Equatable {
    /// The request type.
    public var type: RequestType
    /// The client's `request_id`, echoed in the response.
    public var requestID: String?
    /// The validated fields.
    public var body: RequestBody

    /// Makes a request from parts (tests and the gateway's own internal requests).
    public init(type: RequestType, requestID: String?, body: RequestBody) {
        self.type = type
        self.requestID = requestID
        self.body = body
    }

    /// Parses and validates one request from raw JSON bytes.
    /// - Parameter allowInternal: accept the gateway-internal types (link flag bit0).
    public static func parse(_ bytes: UnsafeRawBufferPointer, allowInternal: Bool = false) throws(RequestFailure) -> Request {
        var parser = RequestParser(object: try jsonObject(bytes), allowInternal: allowInternal)
        return try parser.parse()
    }

    /// The JSON object of a request, or the failure a request that is not one gets.
    static func jsonObject(_ bytes: UnsafeRawBufferPointer) throws(RequestFailure) -> JSONObject {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw RequestFailure(type: "error", requestID: RequestIDSalvage.read(bytes),
                                 error: RequestError(.badRequest, "request is not valid JSON (\(error))"))
        }
        guard case .object(let object) = json else {
            throw RequestFailure(type: "error", requestID: nil, error: RequestError(.badRequest, "request must be a JSON object"))
        }
        return object
    }

    /// Parses and validates one request from raw JSON bytes.
    public static func parse(_ bytes: [UInt8], allowInternal: Bool = false) throws(RequestFailure) -> Request {
        let r: Result<Request, RequestFailure> = bytes.withUnsafeBytes { raw in
            do throws(RequestFailure) { return .success(try parse(raw, allowInternal: allowInternal)) } catch { return .failure(error) }
        }
        return try r.get()
    }
}

/// A request that could not be accepted, with what is needed to answer it: the `type` to
/// echo (`"error"` when none could be read) and the `request_id` when one could be read.
public struct RequestFailure: Error, Equatable {
    /// The type to put in the error response.
    public var type: String
    /// The request id to echo, if readable.
    public var requestID: String?
    /// Code and text.
    public var error: RequestError
    /// The request's type when the failure is in the fields of a type the server knows; nil when
    /// what every request shares failed (not JSON, not an object, `request_id`, `type`). The
    /// gateway answers a field failure only after the checks every request of its type gets
    /// (authentication first), as the worker did when it alone read the fields.
    public var knownType: RequestType?

    /// Makes a failure.
    public init(type: String, requestID: String?, error: RequestError, knownType: RequestType? = nil) {
        self.type = type
        self.requestID = requestID
        self.error = error
        self.knownType = knownType
    }

    /// The encoded error response.
    public func response() -> [UInt8] {
        Responses.error(type: type, requestID: requestID, code: error.code, message: error.message)
    }
}
