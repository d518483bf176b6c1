// GatewayResponse: the JSON the gateway writes itself (its own errors, presence, merged scatter answers, session:ended).
import TagarelaJSON

/// The error codes the gateway itself answers with (PROTOCOL.md 2); the workers answer the rest.
public enum GatewayErrorCode: String, Sendable {
    case badRequest = "bad_request"
    case tooLarge = "too_large"
    case unauthenticated
    case notFound = "not_found"
    case rateLimited = "rate_limited"
    case unavailable
    case `internal`
}

/// Builders for the response bytes the gateway produces without a worker.
public enum GatewayResponse {
    /// `{"type":T,"request_id":R,"status":"error","code":C,"message":M}`, with `retry_after_ms`
    /// for `rate_limited`. `type` is "error" when the request had no readable type (PROTOCOL.md 2).
    public static func error(type: String, requestID: String?, code: GatewayErrorCode, message: String,
                             retryAfterMs: Int? = nil) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.key("type"); w.string(type)
        if let requestID = requestID { w.key("request_id"); w.string(requestID) }
        w.key("status"); w.string("error")
        w.key("code"); w.string(code.rawValue)
        w.key("message"); w.string(message)
        if let retryAfterMs = retryAfterMs { w.key("retry_after_ms"); w.int(retryAfterMs) }
        w.endObject()
        return w.bytes
    }

    /// Opens `{"type":T,"request_id":R,"status":"ok"` for a success answer; the caller adds
    /// its fields and closes the object.
    static func beginOK(type: String, requestID: String?) -> JSONWriter {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("type"); w.string(type)
        if let requestID = requestID { w.key("request_id"); w.string(requestID) }
        w.key("status"); w.string("ok")
        return w
    }

    /// The `get_presence` answer: `presence: {user_id: "online"|"offline"}` in request order.
    public static func presence(requestID: String?, userIDs: [String], online: [Bool]) -> [UInt8] {
        var w = beginOK(type: RequestType.getPresence.rawValue, requestID: requestID)
        w.key("presence")
        w.beginObject()
        for (i, id) in userIDs.enumerated() {
            w.key(id); w.string(online[i] ? "online" : "offline")
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }

    /// A success answer carrying one array field of already-parsed values (merged chats or users).
    public static func list(type: String, requestID: String?, field: String, items: [JSON]) -> [UInt8] {
        var w = beginOK(type: type, requestID: requestID)
        w.key(field)
        w.beginArray()
        for item in items { w.value(item) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// Re-labels a worker's error answer to an internal request (`users_exist`, `user_chats`,
    /// `search_users`) as the answer to the client's request, keeping its code and message.
    public static func relabeledError(_ reply: JSON, type: String, requestID: String?) -> [UInt8] {
        let code = reply["code"]?.string ?? GatewayErrorCode.internal.rawValue
        let message = reply["message"]?.string ?? code
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.key("type"); w.string(type)
        if let requestID = requestID { w.key("request_id"); w.string(requestID) }
        w.key("status"); w.string("error")
        w.key("code"); w.string(code)
        w.key("message"); w.string(message)
        if let retry = reply["retry_after_ms"]?.int { w.key("retry_after_ms"); w.int(retry) }
        w.endObject()
        return w.bytes
    }

    /// `{"type":"session:ended","payload":{"reason":"logout"}}`, pushed to the other connections
    /// of a session that logged out (PROTOCOL.md 2.1 and 3.2).
    public static let sessionEnded: [UInt8] = {
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.key("type"); w.string("session:ended")
        w.key("payload")
        w.beginObject()
        w.key("reason"); w.string("logout")
        w.endObject()
        w.endObject()
        return w.bytes
    }()

    /// The JSON of an internal request the gateway sends to a shard (flag bit 0 set on the link).
    public static func internalRequest(type: String, _ fill: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.key("type"); w.string(type)
        fill(&w)
        w.endObject()
        return w.bytes
    }
}
