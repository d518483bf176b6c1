// ScatterMerge: combines the per-shard answers of get_user_chats and search_users into the one response the client gets.

import TagarelaJSON
import TagarelaModel

/// The gateway sends `user_chats` and `search_users` to every shard (README.md "How it is
/// built", Gateway: scatter-gather) and merges the parts here. When
/// any part is an error or missing, the merged answer is that error, since a partial list
/// would silently hide chats.
enum ScatterMerge {
    /// The outcome of a scatter: the bytes for the client.
    enum Outcome: Equatable {
        case ok([UInt8])
        case error([UInt8])
    }

    /// Either the first error among `replies` (an `unavailable` shard wins, so the client knows
    /// to retry), or nil when every shard answered `ok`. A nil entry is a shard that was down
    /// or answered something that is not JSON.
    static func firstError(_ replies: [JSON?], type: String, requestID: String?) -> [UInt8]? {
        var other: JSON? = nil
        for reply in replies {
            guard let reply = reply else {
                return Responses.error(type: type, requestID: requestID, code: .unavailable,
                                       message: "a shard is unavailable, retry")
            }
            if reply["status"]?.string != "ok" {
                if reply["code"]?.string == ErrorCode.unavailable.rawValue {
                    return Responses.relabeledError(reply, type: type, requestID: requestID)
                }
                if other == nil { other = reply }
            }
        }
        if let other = other { return Responses.relabeledError(other, type: type, requestID: requestID) }
        return nil
    }

    /// One page of chats from every shard's part (PROTOCOL.md 2.2). Each shard answered the
    /// first `limit` of its chats after the cursor, in `ChatCursor` order, and `has_more` when
    /// it had more. The page is the first `limit` of all parts in that order: every chat of the
    /// true page is among its own shard's first `limit`, so none is missed. `has_more` when a
    /// shard had more or chats were left over here; `next_cursor` is the last chat's position
    /// then (null otherwise).
    static func userChats(_ replies: [JSON?], requestID: String?, limit: Int) -> Outcome {
        let type = RequestType.getUserChats.rawValue
        if let err = firstError(replies, type: type, requestID: requestID) { return .error(err) }
        var keyed: [(at: ChatCursor, chat: JSON)] = []
        var shardHasMore = false
        for reply in replies {
            if reply?["has_more"]?.bool == true { shardHasMore = true }
            for chat in reply?["chats"]?.array ?? [] {
                keyed.append((position(of: chat), chat))
            }
        }
        keyed.sort { ChatCursor.precedes($0.at, $1.at) }
        let hasMore = shardHasMore || keyed.count > limit
        let page = keyed.prefix(limit)
        var w = Responses.begin(type: type, requestID: requestID)
        w.key("chats")
        w.beginArray()
        for item in page { w.value(item.chat) }
        w.endArray()
        w.key("has_more"); w.bool(hasMore)
        w.key("next_cursor")
        if hasMore, let last = page.last { w.string(last.at.text) } else { w.null() }
        return .ok(Responses.finish(&w))
    }

    /// A chat object's place in the list: its last message's timestamp, else its creation time
    /// (`ChatState.lastActivity` on the shard), then its id.
    static func position(of chat: JSON) -> ChatCursor {
        let activity = chat["last_message"]?["timestamp"]?.int ?? chat["created_at"]?.int ?? 0
        return ChatCursor(activity: activity, chatID: chat["id"]?.string ?? "")
    }

    /// The users of every shard ordered by username, without duplicates, cut to `limit`.
    static func searchUsers(_ replies: [JSON?], requestID: String?, limit: Int) -> Outcome {
        let type = RequestType.searchUsers.rawValue
        if let err = firstError(replies, type: type, requestID: requestID) { return .error(err) }
        var users: [(name: String, user: JSON)] = []
        for reply in replies {
            for user in reply?["users"]?.array ?? [] {
                users.append((user["username"]?.string ?? user["id"]?.string ?? "", user))
            }
        }
        users.sort { $0.name < $1.name }
        var out: [JSON] = []
        out.reserveCapacity(min(limit, users.count))
        var last: String? = nil
        for (name, user) in users where name != last {
            if out.count == limit { break }
            out.append(user)
            last = name
        }
        return .ok(Responses.list(type: type, requestID: requestID, field: "users", items: out))
    }

    /// The user ids a `users_exist` answer reports missing; nil when the answer is an error.
    static func missingUsers(_ reply: JSON) -> [String]? {
        guard reply["status"]?.string == "ok" else { return nil }
        return (reply["missing"]?.array ?? []).compactMap { $0.string }
    }
}
