// Responses: the response and event envelopes of PROTOCOL.md section 2, encoded straight to bytes.

import TagarelaJSON

/// Response envelopes: `{"type", "request_id" (when given), "status", ...}`.
public enum Responses {
    /// A writer positioned inside an ok response object, after `"status":"ok"`; add members
    /// with `key`/value calls, then call `finish`.
    public static func begin(type: String, requestID: String?, capacity: Int = 256) -> JSONWriter {
        var w = JSONWriter(capacity: capacity)
        w.beginObject()
        w.key("type"); w.string(type)
        if let rid = requestID {
            w.key("request_id"); w.string(rid)
        }
        w.key("status"); w.string("ok")
        return w
    }

    /// Closes the response object opened by `begin` and returns its bytes.
    public static func finish(_ w: inout JSONWriter) -> [UInt8] {
        w.endObject()
        return w.bytes
    }

    /// An ok response with no other fields (logout, mark_read, typing).
    public static func ok(type: String, requestID: String?) -> [UInt8] {
        var w = begin(type: type, requestID: requestID, capacity: 64)
        return finish(&w)
    }

    /// An ok response with one pre-encoded member, for example `"message": <bytes>`.
    public static func ok(type: String, requestID: String?, key: String, rawValue: [UInt8]) -> [UInt8] {
        var w = begin(type: type, requestID: requestID, capacity: 64 + rawValue.count)
        w.key(key)
        w.raw(rawValue)
        return finish(&w)
    }

    /// An ok response carrying one array of already parsed values (merged chats or users).
    public static func list(type: String, requestID: String?, field: String, items: [JSON]) -> [UInt8] {
        var w = begin(type: type, requestID: requestID)
        w.key(field)
        w.beginArray()
        for item in items { w.value(item) }
        w.endArray()
        return finish(&w)
    }

    /// An error response: `{"type","request_id","status":"error","code","message"}`, plus
    /// `retry_after_ms` when given (rate_limited, limit_reached) and `limit` (limit_reached).
    public static func error(type: String, requestID: String?, code: ErrorCode, message: String,
                             retryAfterMs: Int64? = nil, limit: String? = nil) -> [UInt8] {
        errorEnvelope(type: type, requestID: requestID, code: code.rawValue, message: message,
                      retryAfterMs: retryAfterMs, limit: limit)
    }

    /// The error envelope with the code as its wire text.
    private static func errorEnvelope(type: String, requestID: String?, code: String, message: String,
                                      retryAfterMs: Int64?, limit: String? = nil) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.key("type"); w.string(type)
        if let rid = requestID {
            w.key("request_id"); w.string(rid)
        }
        w.key("status"); w.string("error")
        w.key("code"); w.string(code)
        w.key("message"); w.string(message)
        if let ms = retryAfterMs {
            w.key("retry_after_ms"); w.int(ms)
        }
        if let limit = limit {
            w.key("limit"); w.string(limit)
        }
        w.endObject()
        return w.bytes
    }

    /// A worker's error answer re-labelled as the answer to another request (the client's
    /// request behind an internal `users_exist`, `user_chats` or `search_users`): its code,
    /// message and `retry_after_ms` are kept as sent, even a code this model does not know.
    public static func relabeledError(_ reply: JSON, type: String, requestID: String?) -> [UInt8] {
        let code = reply["code"]?.string ?? ErrorCode.internalError.rawValue
        return errorEnvelope(type: type, requestID: requestID, code: code, message: reply["message"]?.string ?? code,
                             retryAfterMs: reply["retry_after_ms"]?.int, limit: reply["limit"]?.string)
    }

    /// An error response from a `RequestError`.
    public static func error(type: String, requestID: String?, _ e: RequestError) -> [UInt8] {
        error(type: type, requestID: requestID, code: e.code, message: e.message, limit: e.limit)
    }

    /// `too_large`: the answer to a request whose response would not fit `bytesMax` (the
    /// output path's bound); the connection and the link stay up (PROTOCOL.md 3.6).
    public static func tooLarge(type: String, requestID: String?, bytes: Int, bytesMax: Int) -> [UInt8] {
        error(type: type, requestID: requestID, code: .tooLarge,
              message: "the response (\(bytes) bytes) exceeds the limit of \(bytesMax) bytes")
    }

    /// `rate_limited` with the time until the token bucket has a token again.
    public static func rateLimited(type: String, requestID: String?, retryAfterMs: Int64) -> [UInt8] {
        error(type: type, requestID: requestID, code: .rateLimited, message: "too many requests", retryAfterMs: retryAfterMs)
    }

    /// `unavailable`: the owning shard is down or restarting.
    public static func unavailable(type: String, requestID: String?) -> [UInt8] {
        error(type: type, requestID: requestID, code: .unavailable, message: "shard unavailable, retry")
    }

    /// The get_presence response: `"presence": {user_id: "online"|"offline"}` in request order.
    public static func presence(requestID: String?, statuses: [(userID: String, online: Bool)]) -> [UInt8] {
        var w = begin(type: RequestType.getPresence.rawValue, requestID: requestID)
        w.key("presence")
        w.beginObject()
        for s in statuses {
            w.key(s.userID)
            w.string(s.online ? "online" : "offline")
        }
        w.endObject()
        return finish(&w)
    }
}

/// Event type names (a colon marks an event, PROTOCOL.md 2).
public enum EventType {
    public static let messageNew = "message:new"
    public static let messageRead = "message:read"
    public static let chatNew = "chat:new"
    public static let chatUpdated = "chat:updated"
    public static let chatTyping = "chat:typing"
    public static let sessionEnded = "session:ended"
}

/// Event envelopes: `{"type": "<x:y>", "payload": {...}}`, no status.
public enum Events {
    /// An event around an already encoded payload (encode the payload once, reuse it).
    public static func encode(type: String, payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + type.utf8.count + 24)
        out.append(contentsOf: #"{"type":"#.utf8)
        JSONWriter.appendString(type, to: &out)
        out.append(contentsOf: #","payload":"#.utf8)
        out.append(contentsOf: payload)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `session:ended` for the other connections of a session that logged out.
    public static func sessionEnded(reason: String = "logout") -> [UInt8] {
        var w = JSONWriter(capacity: 48)
        w.beginObject()
        w.key("reason"); w.string(reason)
        w.endObject()
        return encode(type: EventType.sessionEnded, payload: w.bytes)
    }

    /// The `session:ended` reason (PROTOCOL.md 3.2) of an answer that ended `endSessionID`:
    /// `password_changed` when it also bound the caller to a new session (only change_password
    /// does both), `logout_all` when it ended every session, `logout` for one session. Read from
    /// the answer, not the request, because a late answer reaches the gateway with no request.
    public static func sessionEndReason(endSessionID: String, rebindsCaller: Bool) -> String {
        if rebindsCaller { return "password_changed" }
        return endSessionID == SessionScope.everySession ? "logout_all" : "logout"
    }
}
