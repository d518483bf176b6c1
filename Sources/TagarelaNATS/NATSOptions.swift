// NATSOptions: how a NATSConnection connects (servers, credentials, timings, buffer), and its states.

/// A connection's settings. Credentials in a server URL take precedence over these.
public struct NATSOptions: Sendable {
    /// Servers tried in turn (the server's INFO `connect_urls` are added as they come).
    public var servers: [NATSServerURL]
    public var token: String?
    public var user: String?
    public var password: String?
    /// The connection name the server shows (`/connz`).
    public var name: String
    /// Wait between two connection attempts, so a dead server list is not tried in a busy loop.
    public var reconnectDelayMs: Int64
    /// A PING every this often; the server answers PONG.
    public var pingIntervalMs: Int64
    /// PINGs without a PONG before the server counts as dead: with 1 s and 2 a killed server
    /// (whose socket says nothing, as when its host is gone) is noticed within about 3 s.
    public var maxPingsOut: Int
    /// Bytes of publishes held while disconnected; past it `publish` drops and returns false.
    public var pendingBytesMax: Int

    public init(servers: [NATSServerURL], token: String? = nil, user: String? = nil, password: String? = nil,
                name: String = "tagarela", reconnectDelayMs: Int64 = 250, pingIntervalMs: Int64 = 1_000,
                maxPingsOut: Int = 2, pendingBytesMax: Int = NATSLimits.pendingBytesDefault) {
        precondition(reconnectDelayMs >= 0 && pingIntervalMs > 0 && maxPingsOut > 0 && pendingBytesMax >= 0)
        self.servers = servers
        self.token = token
        self.user = user
        self.password = password
        self.name = name
        self.reconnectDelayMs = reconnectDelayMs
        self.pingIntervalMs = pingIntervalMs
        self.maxPingsOut = maxPingsOut
        self.pendingBytesMax = pendingBytesMax
    }
}

/// Where a connection stands, as `onStateChange` reports it.
public enum NATSConnectionState: Equatable, Sendable {
    /// Not connected; trying the server list (also after a connection was lost).
    case connecting
    /// Connected and authenticated (the server answered our PING after CONNECT).
    case connected(serverURL: String)
    /// Closed for good (`close()`, or no usable server URL).
    case closed(reason: String)
}
