// InternalRequest: the JSON of the requests the gateway itself sends to a shard (users_exist, user_chats, search_users).
import TagarelaJSON

/// Builders for gateway-made requests; they travel with link flag bit 0 set, so a shard accepts
/// the internal types from them and from nobody else.
enum InternalRequest {
    /// `{"type":T, ...}` with the members `fill` writes.
    static func encode(type: String, _ fill: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.key("type"); w.string(type)
        fill(&w)
        w.endObject()
        return w.bytes
    }
}
