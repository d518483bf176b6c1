// NATSMessage: a message as delivered to a subscription, what the server sends, and the client's errors.
import TagarelaJSON

/// One delivered message. `status` is the inline status of a header block (`NATS/1.0 503`:
/// no responders; `408`: a request timeout), nil for an ordinary message.
public struct NATSMessage: Equatable, Sendable {
    public let subject: String
    public let reply: String?
    public let headers: [(String, String)]
    public let status: Int?
    public let payload: [UInt8]

    public init(subject: String, reply: String?, headers: [(String, String)], status: Int?, payload: [UInt8]) {
        self.subject = subject
        self.reply = reply
        self.headers = headers
        self.status = status
        self.payload = payload
    }

    /// The first value of header `name` (compared without case, as NATS does for its own).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public static func == (a: NATSMessage, b: NATSMessage) -> Bool {
        a.subject == b.subject && a.reply == b.reply && a.status == b.status && a.payload == b.payload
            && a.headers.count == b.headers.count && zip(a.headers, b.headers).allSatisfy { $0 == $1 }
    }
}

/// A subscription's handle, for `unsubscribe`.
public struct NATSSubscriptionID: Hashable, Sendable {
    public let sid: UInt64
}

/// One operation from the server (the NATS client protocol's server-to-client verbs).
public enum NATSServerOp: Equatable {
    case info(JSON)
    case msg(sid: UInt64, NATSMessage)
    case ping
    case pong
    case ok
    case err(String)
}

/// Why a request failed.
public enum NATSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No reply within the request's timeout.
    case timeout
    /// The server says nobody subscribes to the subject (status 503).
    case noResponders
    /// The publish was dropped: disconnected and the pending buffer full, or over `max_payload`.
    case notSent
    /// `NATSLimits.requestsInFlightMax` requests already wait.
    case tooManyRequests
    /// The connection was closed by `close()`.
    case closed

    public var description: String {
        switch self {
        case .timeout: return "no reply in time"
        case .noResponders: return "no responders on the subject"
        case .notSent: return "not sent (disconnected with a full buffer, or too large)"
        case .tooManyRequests: return "too many requests waiting"
        case .closed: return "connection closed"
        }
    }
}

/// What the parser refuses; any of these drops the connection (a byte stream cannot be
/// resynchronised after a bad operation).
public enum NATSProtocolError: Error, Equatable, Sendable {
    case controlLineTooLong
    case payloadTooLarge(Int)
    case malformedOperation(String)
    case unknownOperation(String)
    case missingPayloadTerminator
    case malformedHeaders
    case tooManyHeaders
}
