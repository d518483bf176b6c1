// ScatterMerge: combines the per-shard answers of get_user_chats and search_users into the one response the client gets.

import TagarelaJSON

/// The gateway sends `user_chats` and `search_users` to every shard (ARCHITECTURE.md
/// "Routing": "every shard; the gateway merges the answers") and merges the parts here. When
/// any part is an error or missing, the merged answer is that error, since a partial list
/// would silently hide chats.
public enum ScatterMerge {
    /// The outcome of a scatter: the bytes for the client.
    public enum Outcome: Equatable {
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

    /// The chats of every shard, newest activity first (PROTOCOL.md 2.2). Activity is the
    /// shard's `sort_key` when it sends one (removed from the output), else the last message's
    /// timestamp, else the chat's creation time; ties break by id so the order is stable.
    public static func userChats(_ replies: [JSON?], requestID: String?) -> Outcome {
        let type = RequestType.getUserChats.rawValue
        if let err = firstError(replies, type: type, requestID: requestID) { return .error(err) }
        var keyed: [(key: ActivityKey, id: String, chat: JSON)] = []
        for reply in replies {
            for chat in reply?["chats"]?.array ?? [] {
                var out = chat
                var key = ActivityKey(chat["last_message"]?["timestamp"] ?? chat["created_at"])
                if case .object(var o) = chat, let sortKey = o["sort_key"] {
                    key = ActivityKey(sortKey)
                    o["sort_key"] = nil
                    out = .object(o)
                }
                keyed.append((key, chat["id"]?.string ?? "", out))
            }
        }
        keyed.sort { a, b in a.key != b.key ? b.key < a.key : a.id < b.id }
        return .ok(Responses.list(type: type, requestID: requestID, field: "chats", items: keyed.map { $0.chat }))
    }

    /// The users of every shard ordered by username, without duplicates, cut to `limit`.
    public static func searchUsers(_ replies: [JSON?], requestID: String?, limit: Int) -> Outcome {
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
    public static func missingUsers(_ reply: JSON) -> [String]? {
        guard reply["status"]?.string == "ok" else { return nil }
        return (reply["missing"]?.array ?? []).compactMap { $0.string }
    }
}

/// An orderable activity time: numbers (milliseconds) compare as numbers, strings (RFC 3339
/// times, which sort as text) as text, and any number is older than any string; absent is oldest.
struct ActivityKey: Comparable {
    let number: Double
    let text: String

    init(_ value: JSON?) {
        switch value {
        case .some(.int(let n)): number = Double(n); text = ""
        case .some(.double(let d)): number = d; text = ""
        case .some(.string(let s)): number = .infinity; text = s
        default: number = -.infinity; text = ""
        }
    }

    static func < (a: ActivityKey, b: ActivityKey) -> Bool {
        a.number != b.number ? a.number < b.number : a.text < b.text
    }
}
