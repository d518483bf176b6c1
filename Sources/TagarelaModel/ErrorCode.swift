// ErrorCode: the closed set of protocol error codes (PROTOCOL.md section 2) and the error that carries one.

/// What went wrong, for clients to switch on. Raw values are the wire spellings.
public enum ErrorCode: String, Equatable, CaseIterable, Sendable {
    /// Malformed JSON, a missing or wrongly typed field, a field out of bounds, an unknown type.
    case badRequest = "bad_request"
    /// A raw TCP line over the limit, or the connection holding the most unfinished input when
    /// the gateway holds too much (the connection is then closed); or a response that would not
    /// fit the bounds of the output path (the request is refused, the connection stays).
    case tooLarge = "too_large"
    /// A raw TCP line not finished within its deadline after its first byte (the connection is
    /// then closed).
    case timeout
    /// The request needs an authenticated connection, or its session ended.
    case unauthenticated
    /// The user may not do this to this chat.
    case forbidden
    /// No such user or chat.
    case notFound = "not_found"
    /// The thing already exists (a taken username, a reused group id).
    case conflict
    /// Wrong username or password, or an unknown or expired token.
    case badCredentials = "bad_credentials"
    /// Too many requests; the error carries `retry_after_ms`.
    case rateLimited = "rate_limited"
    /// A per-user limit (groups created per time, members per group, chats per user); the
    /// error names it in `limit`, and carries `retry_after_ms` when time lifts it.
    case limitReached = "limit_reached"
    /// A shard is down or restarting; safe to retry.
    case unavailable
    /// A bug on our side.
    case internalError = "internal"
}

/// A protocol-level failure of one request: a code and a sentence for people.
public struct RequestError: Error, Equatable, CustomStringConvertible {
    /// The code clients switch on.
    public var code: ErrorCode
    /// Human-readable text; never parsed by clients.
    public var message: String
    /// For `limit_reached`: which limit (`Limit`'s raw value), sent as the `limit` field.
    public var limit: String?

    /// Makes an error.
    public init(_ code: ErrorCode, _ message: String, limit: String? = nil) {
        self.code = code
        self.message = message
        self.limit = limit
    }

    /// The per-user limits a `limit_reached` error can name (PROTOCOL.md 2.5, 3.6).
    public enum Limit: String, CaseIterable {
        /// Groups one user may create per time window (the gateway's `Limits`).
        case groupsCreated = "groups_created_per_user"
        /// Members of one group.
        case groupMembers = "group_members"
        /// Chats one user is a member of.
        case chatsPerUser = "chats_per_user"
        /// Chats other users may put one user into.
        case chatsAddedByOthers = "chats_added_by_others"
        /// Attachment bytes one user may send per time window (the gateway's `Limits`).
        case attachmentBytes = "attachment_bytes_per_user"
    }

    /// `limit_reached` naming `limit`.
    public static func limitReached(_ limit: Limit, _ message: String) -> RequestError {
        RequestError(.limitReached, message, limit: limit.rawValue)
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }

    /// A field is missing or has the wrong JSON type.
    public static func badField(_ name: String, _ expected: String) -> RequestError {
        RequestError(.badRequest, "field '\(name)' must be \(expected)")
    }

    /// The connection has not authenticated.
    public static let unauthenticated = RequestError(.unauthenticated, "log in first")
    /// Login failure: the same text for an unknown user and a wrong password, so the answer
    /// does not reveal which usernames exist.
    public static let badCredentials = RequestError(.badCredentials, "wrong username or password")
    /// Unknown, expired or ended token.
    public static let badToken = RequestError(.badCredentials, "invalid or expired token")
    /// The requester is not a member of the chat.
    public static let notMember = RequestError(.forbidden, "not a member of this chat")
    /// No such chat on this shard.
    public static let chatNotFound = RequestError(.notFound, "no such chat")
    /// No such user.
    public static let userNotFound = RequestError(.notFound, "no such user")
}
