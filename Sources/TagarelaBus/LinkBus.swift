// LinkBus: the few calls the link's bus carrier makes on a message bus connection (NATS in production, an in-process bus in tests).

/// One message as the bus delivered it.
public struct BusMessage {
    public var subject: String
    /// Where the sender wants answers (NATS's reply subject); "" when none.
    public var reply: String
    public var headers: [(String, String)]
    public var payload: [UInt8]
    /// A status the server sent instead of a message (503: nobody subscribes to the subject we
    /// published to with this reply subject); nil for a message someone published.
    public var status: Int?

    public init(subject: String, reply: String = "", headers: [(String, String)] = [], payload: [UInt8], status: Int? = nil) {
        self.subject = subject
        self.reply = reply
        self.headers = headers
        self.payload = payload
        self.status = status
    }

    /// The first value of header `name` (names compare exactly: we write them ourselves).
    public func header(_ name: String) -> String? {
        headers.first { $0.0 == name }?.1
    }
}

/// What the connection is doing.
public enum BusState: Equatable {
    /// (Re)connecting: nothing published now is carried.
    case connecting
    /// Connected to `server`.
    case connected(server: String)
    /// Closed for good (`close()` or a refusal such as bad credentials).
    case closed(reason: String)
}

/// A connection to the bus, confined to one event loop's thread: every call and every callback
/// happen on it. Subscriptions survive reconnections (the connection renews them).
///
/// The link needs only subject-addressed publish and subscribe: request correlation, deadlines
/// and heartbeats stay `WorkerLink`'s, carried in link frames as over a Unix socket.
public protocol LinkBus: AnyObject {
    /// Told of every state change, on the loop's thread.
    var onStateChange: ((BusState) -> Void)? { get set }
    var isConnected: Bool { get }
    /// Bytes published and not yet written to the server.
    var queuedBytes: Int { get }
    /// The largest payload the server accepts (its INFO `max_payload`; NATS's default is 1 MiB).
    var maxPayload: Int { get }
    /// Starts connecting, without waiting.
    func start()
    /// Calls `handler` for every message on `subject` (wildcards allowed) until `unsubscribe`.
    @discardableResult func subscribe(_ subject: String, _ handler: @escaping (BusMessage) -> Void) -> Int
    func unsubscribe(_ id: Int)
    /// Publishes; false when it could not be queued (closed, or its pending bytes are full).
    @discardableResult func publish(_ subject: String, reply: String, headers: [(String, String)], payload: [UInt8]) -> Bool
    func close()
}
