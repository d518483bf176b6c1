// SessionCheck: the gateway's internal question to a user's shard, "is this session still live?", asked after it subscribes a newly bound connection (PROTOCOL.md 3.2).
import TagarelaJSON

/// A gateway loop binds a connection to a user on the authentication answer, and only then
/// subscribes the user on its links: a `logout_all` (or `logout`, `change_password`) that the
/// user's shard processes in between tells every loop subscribed at that moment, not this one.
/// So the loop asks the shard, on the link it just subscribed on (the shard reads one link's
/// frames in order), whether the session still exists: a session end processed after the
/// subscribe reaches the connection as a notice; one processed before it is found here.
///
/// The request travels with link flag bit 0 (internal) and `arg` set to `arg`, with the user
/// and session in the link request's own fields; the worker answers it without the engine's
/// request parser, as it does the `get_presence` of a bus.
public enum SessionCheck {
    /// The link request's `arg` that marks the check.
    public static let arg = "session_check"
    /// The check's JSON (its answer carries the same `type`).
    public static let request: [UInt8] = Array(#"{"type":"session_check"}"#.utf8)

    /// `session:ended` reason when the check found the session gone.
    public static let endedReason = "ended"
    /// `session:ended` reason when the check could not be answered (the shard unavailable):
    /// the session may be live still, and its token authenticates again if so.
    public static let unverifiedReason = "unverified"

    /// The worker's answer: `{"type":"session_check","live":L}`.
    public static func answer(live: Bool) -> [UInt8] {
        var w = JSONWriter(capacity: 40)
        w.beginObject()
        w.key("type"); w.string(arg)
        w.key("live"); w.bool(live)
        w.endObject()
        return w.bytes
    }

    /// What an answer says; nil when it is no check answer (a worker from before the check
    /// answers `bad_request` to a type it does not know).
    public static func live(in json: [UInt8]) -> Bool? {
        guard let object = try? JSON.parse(json), object["type"]?.string == arg else { return nil }
        return object["live"]?.bool
    }
}
