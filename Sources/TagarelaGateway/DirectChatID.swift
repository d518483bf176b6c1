// DirectChatID: the id of the direct chat between two users, derived exactly as the shard engine does.
import enum TagarelaModel.FieldRules

/// The id of a direct chat (PROTOCOL.md 3.1: `d:` and the two usernames (ASCII case folded), sorted,
/// joined by `:`). It delegates to the model's rule so `create_chat` and every later request on
/// that chat reach the shard that holds it.
public enum DirectChatID {
    /// The id for users `a` and `b`, in either order and any case.
    public static func make(_ a: String, _ b: String) -> String {
        FieldRules.directChatID(FieldRules.userIDKey(a), FieldRules.userIDKey(b))
    }
}
