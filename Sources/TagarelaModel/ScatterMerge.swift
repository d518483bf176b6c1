// ScatterMerge: combines the per-shard answers of get_user_chats and search_users into one response.

import TagarelaJSON

/// The gateway sends `get_user_chats` and `search_users` to every shard (ARCHITECTURE.md
/// "Routing") and merges the parts here. Each part is a shard's complete response; when any
/// part is an error (or unreadable), the merged answer is that error, since a partial list
/// would silently hide chats.
public enum ScatterMerge {
    /// The activity key of a chat object: its last message's timestamp, else its creation time.
    public static func activity(of chat: JSON) -> Int64 {
        if let t = chat["last_message"]?["timestamp"]?.int { return t }
        return chat["created_at"]?.int ?? 0
    }

    /// Merges `chats` arrays, newest activity first (ties by chat id), into a get_user_chats response.
    public static func userChats(parts: [[UInt8]], requestID: String?) -> [UInt8] {
        let type = RequestType.getUserChats.rawValue
        var chats: [(key: Int64, id: String, value: JSON)] = []
        for part in parts {
            switch read(part, list: "chats") {
            case .failure(let e):
                return Responses.error(type: type, requestID: requestID, e)
            case .success(let items):
                for c in items { chats.append((activity(of: c), c["id"]?.string ?? "", c)) }
            }
        }
        chats.sort { $0.key != $1.key ? $0.key > $1.key : $0.id < $1.id }
        var w = Responses.begin(type: type, requestID: requestID, capacity: 256 * (chats.count + 1))
        w.key("chats")
        w.beginArray()
        for c in chats { w.value(c.value) }
        w.endArray()
        return Responses.finish(&w)
    }

    /// Merges `users` arrays, by username, keeping the first `limit`, into a search_users response.
    public static func searchUsers(parts: [[UInt8]], requestID: String?, limit: Int) -> [UInt8] {
        let type = RequestType.searchUsers.rawValue
        var users: [(id: String, value: JSON)] = []
        for part in parts {
            switch read(part, list: "users") {
            case .failure(let e):
                return Responses.error(type: type, requestID: requestID, e)
            case .success(let items):
                for u in items { users.append((u["id"]?.string ?? "", u)) }
            }
        }
        users.sort { $0.id < $1.id }
        var w = Responses.begin(type: type, requestID: requestID, capacity: 96 * (min(limit, users.count) + 1))
        w.key("users")
        w.beginArray()
        for u in users.prefix(limit) { w.value(u.value) }
        w.endArray()
        return Responses.finish(&w)
    }

    static func read(_ part: [UInt8], list: String) -> Result<[JSON], RequestError> {
        guard let json = try? JSON.parse(part) else {
            return .failure(RequestError(.internalError, "a shard sent an unreadable answer"))
        }
        if json["status"]?.string != "ok" {
            let code = json["code"]?.string.flatMap(ErrorCode.init(rawValue:)) ?? .internalError
            return .failure(RequestError(code, json["message"]?.string ?? "a shard failed"))
        }
        guard let items = json[list]?.array else {
            return .failure(RequestError(.internalError, "a shard answer lacks '\(list)'"))
        }
        return .success(items)
    }
}
