// RequestRouter: decides, from a validated request alone, which shard answers it or which multi-step plan serves it.
import TagarelaJSON
import TagarelaLink
import TagarelaCrypto
import enum TagarelaModel.FieldLimits
import enum TagarelaModel.FieldRules
import enum TagarelaModel.RequestType
import struct TagarelaModel.ChatCursor
import struct TagarelaModel.Request

/// The users of one shard whose existence a cross-shard write must check first.
public struct ShardUsers: Equatable, Sendable {
    public var shard: Int
    public var userIDs: [String]
    public init(shard: Int, userIDs: [String]) {
        self.shard = shard
        self.userIDs = userIDs
    }
}

/// Where a request goes (README.md "How it is built", Routing). Pure data, so routing is tested without sockets.
public enum Route: Equatable, Sendable {
    /// Forward the client's JSON unchanged to this shard and pass its reply back.
    case shard(Int)
    /// Answered by the gateway from its presence table.
    case presence(userIDs: [String])
    /// Ask every shard for a page of the user's chats (the first `limit` after `cursor`) and
    /// merge the parts into one page (`ScatterMerge.userChats`).
    case userChats(limit: Int, cursor: ChatCursor?)
    /// Ask every shard for matching users and merge them by username, at most `limit`.
    case searchUsers(query: String, limit: Int)
    /// Check that the other user exists on their shard, then create on the chat's shard.
    case createChat(target: String, targetShard: Int, chatID: String, chatShard: Int)
    /// Check the members on their shards, then create the group on its (fresh) shard.
    case createGroup(groupID: String, groupShard: Int, checks: [ShardUsers])
    /// Check that the user to add exists, then add on the group's shard.
    case addGroupMember(userID: String, userShard: Int, chatShard: Int)
    /// Answer `bad_request` with this message; nothing is sent to a worker.
    case reject(message: String)
}

/// Turns a validated request into a `Route`.
public enum RequestRouter {
    /// User ids longer than this are refused before routing (PROTOCOL.md 2.5).
    public static let idCharactersMax = FieldLimits.idMax
    /// Chat ids may be longer: a direct chat's id holds two usernames (PROTOCOL.md 3.1).
    public static let chatIDCharactersMax = FieldLimits.chatIDMax
    /// At most this many ids in `create_group` and `get_presence` (PROTOCOL.md 2.2, 2.4).
    public static let memberIDsMax = FieldLimits.memberIDsMax
    public static let presenceIDsMax = FieldLimits.presenceIDsMax
    /// `search_users` defaults (PROTOCOL.md 2.1).
    public static let searchLimitDefault = FieldLimits.searchLimitDefault
    public static let searchLimitMax = FieldLimits.searchLimitMax

    /// The route of `json` (a request of `type`) sent by `userID` ("" before auth) when
    /// there are `workers` shards; `mintGroupID` is called only for `create_group`.
    public static func route(type: RequestType, json: JSON, userID: String, workers: Int,
                             mintGroupID: () -> String = GroupID.mint) -> Route {
        precondition(workers > 0, "routing needs at least one worker")
        func shard(_ key: String) -> Int { Slots.worker(for: key, workers: workers) }
        switch type {
        case .register, .login:
            guard let name = json["username"]?.string, !name.isEmpty else {
                return .reject(message: "missing or invalid field: username")
            }
            return .shard(shard(FieldRules.userIDKey(name)))
        case .auth:
            guard let token = json["token"]?.string, !token.isEmpty else {
                return .reject(message: "missing or invalid field: token")
            }
            // The token names its user before the LAST dot (usernames may hold dots). A token
            // of no valid form still goes to a shard, which answers `bad_credentials` like for
            // any other token it does not know: a forged token must not look like a bad request.
            return .shard(shard(FieldRules.tokenUsername(token) ?? ""))
        case .logout, .logoutAll, .changePassword:
            return .shard(shard(userID))
        case .message, .getMessages, .markRead, .typing:
            guard let chatID = idField(json, "chat_id", max: chatIDCharactersMax) else {
                return .reject(message: "missing or invalid field: chat_id")
            }
            return .shard(shard(chatID))
        case .removeGroupMember, .leaveGroup:
            guard let chatID = idField(json, "group_id", max: chatIDCharactersMax) else {
                return .reject(message: "missing or invalid field: group_id")
            }
            return .shard(shard(chatID))
        case .addGroupMember:
            guard let chatID = idField(json, "group_id", max: chatIDCharactersMax) else {
                return .reject(message: "missing or invalid field: group_id")
            }
            guard let user = idField(json, "user_id") else {
                return .reject(message: "missing or invalid field: user_id")
            }
            let target = FieldRules.userIDKey(user)
            return .addGroupMember(userID: target, userShard: shard(target), chatShard: shard(chatID))
        case .createChat:
            guard let user = idField(json, "user_id") else {
                return .reject(message: "missing or invalid field: user_id")
            }
            let target = FieldRules.userIDKey(user)
            let chatID = DirectChatID.make(userID, target)
            return .createChat(target: target, targetShard: shard(target), chatID: chatID, chatShard: shard(chatID))
        case .createGroup:
            guard let list = json["member_ids"]?.array, list.count <= memberIDsMax else {
                return .reject(message: "member_ids must be an array of at most \(memberIDsMax) user ids")
            }
            var others: [String] = []
            for item in list {
                guard let id = item.string, !id.isEmpty, id.unicodeScalars.count <= idCharactersMax else {
                    return .reject(message: "member_ids must hold user id strings")
                }
                // Folded and compared by bytes (PROTOCOL.md 3.1): ids that differ in any byte
                // but ASCII case are different users.
                let key = FieldRules.userIDKey(id)
                if !ByteKey.equal(key, userID) && !others.contains(where: { ByteKey.equal($0, key) }) { others.append(key) }
            }
            var checks: [ShardUsers] = []
            for id in others {
                let s = shard(id)
                if let i = checks.firstIndex(where: { $0.shard == s }) {
                    checks[i].userIDs.append(id)
                } else {
                    checks.append(ShardUsers(shard: s, userIDs: [id]))
                }
            }
            let groupID = mintGroupID()
            return .createGroup(groupID: groupID, groupShard: shard(groupID), checks: checks)
        case .getUserChats:
            // The shard's parser owns the rules of `limit` and `cursor`; the gateway applies
            // the same code rather than a copy of it.
            do {
                guard case .getUserChats(let limit, let cursor) = try Request.parse(json: json).body else {
                    return .reject(message: "not a get_user_chats request")
                }
                return .userChats(limit: limit, cursor: cursor)
            } catch {
                return .reject(message: error.error.message)
            }
        case .searchUsers:
            guard let query = json["query"]?.string else {
                return .reject(message: "missing or invalid field: query")
            }
            var limit = searchLimitDefault
            if let l = json["limit"], !l.isNull {
                guard let n = l.int, n >= 1, n <= Int64(searchLimitMax) else {
                    return .reject(message: "limit must be an integer from 1 to \(searchLimitMax)")
                }
                limit = Int(n)
            }
            return .searchUsers(query: query, limit: limit)
        case .getPresence:
            guard let list = json["user_ids"]?.array, list.count <= presenceIDsMax else {
                return .reject(message: "user_ids must be an array of at most \(presenceIDsMax) user ids")
            }
            var ids: [String] = []
            ids.reserveCapacity(list.count)
            // Ids are usernames, compared case-insensitively: "ana" and "ANA" are one user and
            // one key of the answer's object (a JSON object must not repeat a key). First-seen
            // order, as the worker's parser keeps it.
            var seen = Set<ByteKey>()
            for item in list {
                guard let id = item.string, id.unicodeScalars.count <= idCharactersMax else {
                    return .reject(message: "user_ids must hold user id strings")
                }
                let key = FieldRules.userIDKey(id)
                if seen.insert(ByteKey(key)).inserted { ids.append(key) }
            }
            return .presence(userIDs: ids)
        case .usersExist, .userChats:
            // Gateway-internal types: `RequestEnvelope` already answers a client naming them.
            return .reject(message: "unknown request type")
        }
    }

    /// A non-empty string field of at most `max` characters (Unicode scalars, PROTOCOL.md 3.1).
    static func idField(_ json: JSON, _ name: String, max: Int = idCharactersMax) -> String? {
        guard let s = json[name]?.string, !s.isEmpty, s.unicodeScalars.count <= max else { return nil }
        return s
    }
}

/// Group ids minted by the gateway: `g:` and 24 hex digits of random bytes (PROTOCOL.md 3.1), so
/// a new group lands on a uniformly random shard and ids never collide in practice (96 bits).
public enum GroupID {
    /// A fresh group id.
    public static func mint() -> String {
        "g:" + hexString(SecureRandom.bytes(count: 12))
    }
}
