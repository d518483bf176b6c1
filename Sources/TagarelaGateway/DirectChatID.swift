// DirectChatID: the id of the direct chat between two users, derived so both sides route to the same shard.

/// The id of a direct chat: `d:` and the two lower-cased usernames sorted and joined by `:`.
/// The shard engine derives the same id (the gateway also passes it in `LinkRequest.arg`), so
/// `create_chat` and every later request on that chat reach the same shard.
public enum DirectChatID {
    public static func make(_ a: String, _ b: String) -> String {
        let x = a.lowercased(), y = b.lowercased()
        return x <= y ? "d:\(x):\(y)" : "d:\(y):\(x)"
    }
}
