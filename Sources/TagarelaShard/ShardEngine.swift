// ShardEngine: one shard's state and the dispatch of each request to its handler (pure, single-threaded).

import TagarelaCrypto
import TagarelaJSON
import TagarelaModel

/// A registered user with the salted password hash (never leaves the shard).
struct UserRecord {
    var user: User
    var salt: [UInt8]
    var hash: [UInt8]
    var iterations: Int
}

/// A login session, keyed by the SHA-256 hex of its token.
struct Session: Equatable {
    var username: String
    var expiresAt: Int64
}

/// The state of one shard and the protocol logic over it: `handle(request)` returns the
/// response, the events to push and the journal records to make durable. No I/O, no
/// threads, no clock or randomness but the injected ones: the worker owns all of that.
public final class ShardEngine {
    let config: EngineConfig
    var users: [String: UserRecord] = [:]
    /// All usernames, sorted, for prefix search by binary search.
    var sortedUsernames: [String] = []
    var sessions: [String: Session] = [:]
    /// username -> ids of that user's sessions, so logout_all and change_password end them
    /// without a scan of every session.
    var sessionsByUser: [String: Set<String>] = [:]
    /// Failed password checks per account (memory only).
    var loginThrottle: LoginThrottle
    var accountThrottle: LoginThrottle
    var chats: [String: ChatState] = [:]
    /// user id -> ids of this shard's chats the user is a member of.
    var userChats: [String: Set<String>] = [:]

    /// An empty shard.
    public init(config: EngineConfig) {
        self.config = config
        self.loginThrottle = LoginThrottle(policy: config.loginThrottle)
        self.accountThrottle = LoginThrottle(policy: config.loginThrottlePerAccount)
    }

    /// Handles one request. Validation failures change nothing and produce no record.
    public func handle(_ req: EngineRequest) -> EngineStep {
        let request: Request
        do {
            request = try Request.parse(req.json, allowInternal: req.isInternal)
        } catch {
            return .done(EngineResult(response: error.response()))
        }
        // The gateway's own scatter of search_users carries no user; everything else that
        // needs a user must have one, internal or not.
        let gatewayScatter = req.isInternal && request.type == .searchUsers
        if request.type.needsAuthentication && req.userID.isEmpty && !gatewayScatter {
            return fail(request, .unauthenticated)
        }
        switch request.body {
        case let .register(username, password, displayName):
            return register(request, username: username, password: password, displayName: displayName)
        case let .login(username, password):
            // The gateway puts the client's address in `arg` (the throttle's source).
            return login(request, username: username, password: password, source: "address " + req.arg)
        case let .auth(token):
            return .done(auth(request, token: token))
        case .logout:
            return .done(logout(request, sessionID: req.sessionID))
        case .logoutAll:
            return .done(logoutAll(request, username: req.userID))
        case let .changePassword(old, new):
            return changePassword(request, username: req.userID, oldPassword: old, newPassword: new,
                                  source: "session " + req.sessionID)
        case let .searchUsers(query, limit):
            return .done(searchUsers(request, query: query, limit: limit))
        case let .usersExist(ids):
            return .done(usersExist(request, ids: ids))
        case let .createChat(other):
            return .done(run(request) { try createChat(request, requester: req.userID, other: other) })
        case let .createGroup(name, members):
            return .done(run(request) { try createGroup(request, requester: req.userID, id: req.arg, name: name, memberIDs: members) })
        case let .addGroupMember(groupID, userID):
            return .done(run(request) { try addMember(request, requester: req.userID, groupID: groupID, userID: userID) })
        case let .removeGroupMember(groupID, userID):
            return .done(run(request) { try removeMember(request, requester: req.userID, groupID: groupID, userID: userID) })
        case let .leaveGroup(groupID):
            return .done(run(request) { try removeMember(request, requester: req.userID, groupID: groupID, userID: req.userID) })
        case let .getUserChats(limit, cursor):
            return .done(userChatsResult(request, for: req.userID, limit: limit, cursor: cursor))
        case let .userChats(userID, limit, cursor):
            return .done(userChatsResult(request, for: userID, limit: limit, cursor: cursor))
        case let .message(chatID, content, clientMsgID, attachment):
            return .done(run(request) {
                try sendMessage(request, sender: req.userID, chatID: chatID, content: content, clientMsgID: clientMsgID, upload: attachment)
            })
        case let .getAttachment(chatID, attachmentID):
            return .done(getAttachment(request, reader: req.userID, chatID: chatID, attachmentID: attachmentID))
        case let .getMessages(chatID, before, after, limit, markRead):
            return .done(run(request) {
                try getMessages(request, reader: req.userID, chatID: chatID, beforeSeq: before, afterSeq: after, limit: limit, markRead: markRead)
            })
        case let .markRead(chatID, seq):
            return .done(run(request) { try markRead(request, reader: req.userID, chatID: chatID, seq: seq) })
        case let .typing(chatID):
            return .done(run(request) { try typing(request, user: req.userID, chatID: chatID) })
        case .getPresence:
            return fail(request, RequestError(.badRequest, "get_presence is answered by the gateway"))
        }
    }

    // MARK: - Helpers shared by the handlers

    func fail(_ r: Request, _ e: RequestError) -> EngineStep {
        .done(failure(r, e))
    }

    func failure(_ r: Request, _ e: RequestError) -> EngineResult {
        EngineResult(response: Responses.error(type: r.type.rawValue, requestID: r.requestID, e))
    }

    /// Runs a handler that reports protocol errors by throwing.
    func run(_ r: Request, _ body: () throws -> EngineResult) -> EngineResult {
        do {
            return try body()
        } catch let e as RequestError {
            return failure(r, e)
        } catch {
            return failure(r, RequestError(.internalError, "unexpected failure"))
        }
    }

    /// The chat if it exists and `user` is a member: `not_found` first, then `forbidden`.
    func memberChat(_ chatID: String, _ user: String) throws(RequestError) -> ChatState {
        guard let chat = chats[chatID] else { throw .chatNotFound }
        guard chat.isMember(user) else { throw .notMember }
        return chat
    }

    /// `not_found` for a user this shard owns and does not know; users of other shards
    /// were checked by the gateway (`users_exist`) before it sent the request.
    func requireUser(_ id: String) throws(RequestError) {
        if config.ownsUser(id) && users[id] == nil {
            throw RequestError(.notFound, "no such user: \(id)")
        }
    }

    /// Applies a mutation and returns its journal record.
    @discardableResult
    func commit(_ m: Mutation, into records: inout [[UInt8]]) -> Mutation {
        do {
            try apply(m)
        } catch {
            // Live mutations are built from validated state; failing here is a bug.
            preconditionFailure("live mutation rejected: \(error)")
        }
        records.append(m.encoded())
        return m
    }

    // MARK: - Replay

    /// Applies one journal record (replay after a restart).
    public func apply(record: [UInt8]) throws(ShardDataError) {
        try apply(try Mutation.decode(record))
    }

    /// The single place where state changes, for live requests and replay alike.
    func apply(_ m: Mutation) throws(ShardDataError) {
        switch m {
        case let .userCreated(username, displayName, createdAt, salt, hash, iterations):
            guard users[username] == nil else { throw .corrupt("user \(username) created twice") }
            users[username] = UserRecord(user: User(username: username, displayName: displayName, createdAt: createdAt),
                                         salt: salt, hash: hash, iterations: iterations)
            insertSorted(username)
        case let .sessionStarted(sessionID, username, expiresAt):
            addSession(sessionID, Session(username: username, expiresAt: expiresAt))
        case let .sessionEnded(sessionID):
            removeSession(sessionID)
        case let .allSessionsEnded(username):
            removeAllSessions(of: username)
        case let .passwordChanged(username, salt, hash, iterations, sessionID, expiresAt):
            guard users[username] != nil else { throw .corrupt("password changed for unknown user \(username)") }
            users[username]!.salt = salt
            users[username]!.hash = hash
            users[username]!.iterations = iterations
            removeAllSessions(of: username)
            addSession(sessionID, Session(username: username, expiresAt: expiresAt))
        case let .chatCreated(id, kind, name, members, createdAt, creator):
            guard chats[id] == nil else { throw .corrupt("chat \(id) created twice") }
            guard let k = ChatKind(rawValue: kind) else { throw .corrupt("chat \(id) has kind '\(kind)'") }
            let chat = ChatState(chat: Chat(id: id, kind: k, name: name, memberIDs: members, createdAt: createdAt, creatorID: creator))
            chats[id] = chat
            for u in members { userChats[u, default: []].insert(id) }
        case let .memberAdded(chatID, userID):
            guard let chat = chats[chatID] else { throw .corrupt("member added to unknown chat \(chatID)") }
            chat.addMember(userID)
            userChats[userID, default: []].insert(chatID)
        case let .memberRemoved(chatID, userID):
            guard let chat = chats[chatID] else { throw .corrupt("member removed from unknown chat \(chatID)") }
            chat.removeMember(userID)
            userChats[userID]?.remove(chatID)
            if userChats[userID]?.isEmpty == true { userChats[userID] = nil }
        case let .messageStored(chatID, seq, sender, content, timestamp, clientMsgID, attachment):
            guard let chat = chats[chatID] else { throw .corrupt("message for unknown chat \(chatID)") }
            guard seq == chat.lastSeq + 1 else { throw .corrupt("chat \(chatID): seq \(seq) after \(chat.lastSeq)") }
            chat.append(Message(chatID: chat.id, seq: seq, senderID: sender, content: content, timestamp: timestamp,
                                clientMsgID: clientMsgID, attachment: attachment))
        case let .markerMoved(chatID, userID, seq, at):
            guard let chat = chats[chatID] else { throw .corrupt("read marker for unknown chat \(chatID)") }
            chat.moveMarker(of: userID, to: seq, at: at)
        }
    }

    func addSession(_ id: String, _ session: Session) {
        if let old = sessions[id] { sessionsByUser[old.username]?.remove(id) }
        sessions[id] = session
        sessionsByUser[session.username, default: []].insert(id)
    }

    func removeAllSessions(of username: String) {
        for id in sessionsByUser[username] ?? [] { removeSession(id) }
    }

    func removeSession(_ id: String) {
        guard let old = sessions.removeValue(forKey: id) else { return }
        sessionsByUser[old.username]?.remove(id)
        if sessionsByUser[old.username]?.isEmpty == true { sessionsByUser[old.username] = nil }
    }

    func insertSorted(_ username: String) {
        var lo = 0
        var hi = sortedUsernames.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sortedUsernames[mid] < username { lo = mid + 1 } else { hi = mid }
        }
        sortedUsernames.insert(username, at: lo)
    }

    // MARK: - Introspection for the worker and tests

    /// Number of users stored on this shard.
    public var userCount: Int { users.count }
    /// Number of chats stored on this shard.
    public var chatCount: Int { chats.count }
    /// Number of live (not logged-out) sessions, expired ones included until purged.
    public var sessionCount: Int { sessions.count }
    /// Accounts the login throttle currently tracks (bounded by `LoginThrottlePolicy.maxAccounts`).
    public var throttledAccountCount: Int { loginThrottle.entries.count }
    /// Total messages stored on this shard.
    public var messageCount: Int { chats.values.reduce(0) { $0 + $1.messages.count } }
}
