// ShardEngine+Stats: the shard's sizes, for the worker's /metrics.

/// How big a shard is right now.
public struct ShardStats: Equatable, Sendable {
    public var users: Int
    public var chats: Int
    public var messages: Int
    public var sessions: Int
}

extension ShardEngine {
    /// Counts of the shard's users, chats, messages and sessions. O(chats) for the messages:
    /// asked once per scrape, not per request, so no counter is kept on the hot path.
    public var stats: ShardStats {
        var messages = 0
        for chat in chats.values { messages += chat.messages.count }
        return ShardStats(users: users.count, chats: chats.count, messages: messages, sessions: sessions.count)
    }
}
