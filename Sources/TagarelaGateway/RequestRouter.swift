// RequestRouter: decides, from a request's routing facts alone, which shard answers it or which multi-step plan serves it.
import TagarelaJSON
import TagarelaLink
import TagarelaCrypto
import TagarelaModel

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
}

/// Turns a request's routing facts into a `Route`. Every field rule (bounds, folding of user ids,
/// defaults) is the model's (`Request.routing`): this reads only validated values.
public enum RequestRouter {
    /// The route of a request with `key` sent by `userID` ("" before auth) when there are
    /// `workers` shards; `mintGroupID` is called only for `create_group`.
    public static func route(_ key: RoutingKey, userID: String, workers: Int,
                             mintGroupID: () -> String = GroupID.mint) -> Route {
        precondition(workers > 0, "routing needs at least one worker")
        func shard(_ key: String) -> Int { Slots.worker(for: key, workers: workers) }
        switch key {
        case .key(let k):
            return .shard(shard(k))
        case .requester:
            return .shard(shard(userID))
        case .directChat(let user):
            let chatID = DirectChatID.make(userID, user)
            return .createChat(target: user, targetShard: shard(user), chatID: chatID, chatShard: shard(chatID))
        case .addMember(let groupID, let user):
            return .addGroupMember(userID: user, userShard: shard(user), chatShard: shard(groupID))
        case .newGroup(let memberIDs):
            // The model folded and de-duplicated the ids (by bytes, PROTOCOL.md 3.1); the creator
            // needs no check.
            var checks: [ShardUsers] = []
            for id in memberIDs where !ByteKey.equal(id, userID) {
                let s = shard(id)
                if let i = checks.firstIndex(where: { $0.shard == s }) {
                    checks[i].userIDs.append(id)
                } else {
                    checks.append(ShardUsers(shard: s, userIDs: [id]))
                }
            }
            let groupID = mintGroupID()
            return .createGroup(groupID: groupID, groupShard: shard(groupID), checks: checks)
        case .userChats(let limit, let cursor):
            return .userChats(limit: limit, cursor: cursor)
        case .searchUsers(let query, let limit):
            return .searchUsers(query: query, limit: limit)
        case .presence(let userIDs):
            return .presence(userIDs: userIDs)
        }
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
