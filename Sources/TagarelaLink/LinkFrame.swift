// LinkFrame: the messages that travel between the gateway and a worker over the link socket.

/// A client request forwarded by the gateway to the worker that owns its key.
public struct LinkRequest: Equatable {
    /// Flag bit 0: the gateway made this request itself (scatter-gather, existence checks);
    /// the worker accepts internal operations only when it is set.
    public static let internalFlag: UInt8 = 0x01

    /// The gateway's id for this request; the reply carries it back.
    public var requestID: UInt64
    /// The client connection the request came from (0 for internal requests).
    public var connectionID: UInt64
    /// Bit 0 = internal (see `internalFlag`); other bits are reserved and must be zero.
    public var flags: UInt8
    /// The authenticated user id, "" before auth.
    public var userID: String
    /// The authenticated session id (token hash hex), "" before auth.
    public var sessionID: String
    /// A gateway-provided argument, e.g. the group id the gateway minted for `create_group`.
    public var arg: String
    /// The client's request JSON, verbatim.
    public var json: [UInt8]

    /// Creates a request; every field is explicit so the gateway never sends a stale default.
    public init(requestID: UInt64, connectionID: UInt64, flags: UInt8 = 0, userID: String = "",
                sessionID: String = "", arg: String = "", json: [UInt8]) {
        self.requestID = requestID
        self.connectionID = connectionID
        self.flags = flags
        self.userID = userID
        self.sessionID = sessionID
        self.arg = arg
        self.json = json
    }

    /// True when the gateway made this request (flag bit 0).
    public var isInternal: Bool { flags & LinkRequest.internalFlag != 0 }
}

/// An event the gateway delivers to every connection of the listed users.
public struct LinkEvent: Equatable {
    /// The users whose connections receive the event.
    public var userIDs: [String]
    /// A connection that must not receive it (the sender's own), 0 for none.
    public var excludeConnectionID: UInt64
    /// The event JSON, encoded once by the worker and written verbatim to every receiver.
    public var json: [UInt8]

    /// Creates an event.
    public init(userIDs: [String], excludeConnectionID: UInt64 = 0, json: [UInt8]) {
        self.userIDs = userIDs
        self.excludeConnectionID = excludeConnectionID
        self.json = json
    }
}

/// A worker's answer to one `LinkRequest`.
public struct LinkReply: Equatable {
    /// The `requestID` of the request this answers.
    public var requestID: UInt64
    /// The response JSON for the requesting connection.
    public var json: [UInt8]
    /// Set on a successful login/register/auth: the user the connection is now bound to.
    public var authUserID: String
    /// Set with `authUserID`: the session id (token hash hex) of that binding.
    public var authSessionID: String
    /// Set on logout, logout_all and change_password: the session whose connections the gateway
    /// must unbind (`*` for every session of the user).
    public var endSessionID: String
    /// Set with `endSessionID`: the user whose sessions end. The gateway ends them from this, not
    /// from the requesting connection, which may have closed (and forgotten its user) before the
    /// answer came, or been answered `unavailable` at its deadline.
    public var endUserID: String
    /// Events caused by the request, released together with the reply (after the journal sync).
    public var events: [LinkEvent]

    /// Creates a reply.
    public init(requestID: UInt64, json: [UInt8], authUserID: String = "", authSessionID: String = "",
                endSessionID: String = "", endUserID: String = "", events: [LinkEvent] = []) {
        self.requestID = requestID
        self.json = json
        self.authUserID = authUserID
        self.authSessionID = authSessionID
        self.endSessionID = endSessionID
        self.endUserID = endUserID
        self.events = events
    }
}

/// One frame on the link. The wire type byte of each case is `typeByte`.
public enum LinkFrame: Equatable {
    /// Gateway -> worker: a request to handle.
    case request(LinkRequest)
    /// Worker -> gateway: the answer to a request, with its events.
    case reply(LinkReply)
    /// Worker -> gateway: events that follow a reply in frames of their own, because with the
    /// reply they would pass the gateway's frame bound (`LinkCodec.encodeBounded`); the gateway
    /// delivers them like a reply's events.
    case events([LinkEvent])
    /// Either way: a liveness probe carrying an opaque nonce.
    case ping(UInt64)
    /// Either way: the answer to `ping`, echoing its nonce.
    case pong(UInt64)
    /// Gateway -> worker: this gateway loop now holds connections of these users; the worker
    /// sends events addressed to them on this link (and only events with at least one
    /// subscribed user, carrying only the subscribed users' ids).
    case subscribe([String])
    /// Gateway -> worker: this gateway loop no longer holds any connection of these users.
    case unsubscribe([String])
    /// Gateway -> worker: asks for the worker's numbers (`/metrics`), with a nonce the answer echoes.
    case statsRequest(UInt64)
    /// Worker -> gateway: the answer to `statsRequest`.
    case stats(WorkerStats)

    /// The wire type bytes. Values are fixed forever: both ends of a rolling restart must agree.
    public enum Kind: UInt8 {
        case request = 1, reply = 2, events = 3, ping = 4, pong = 5, subscribe = 6, unsubscribe = 7
        case statsRequest = 8, stats = 9
    }

    /// The kind of this frame.
    public var kind: Kind {
        switch self {
        case .request: return .request
        case .reply: return .reply
        case .events: return .events
        case .ping: return .ping
        case .pong: return .pong
        case .subscribe: return .subscribe
        case .unsubscribe: return .unsubscribe
        case .statsRequest: return .statsRequest
        case .stats: return .stats
        }
    }
}
