// NATSLimits: every bound of the NATS client, each with the reason for its value.

/// The NATS client's bounds. They live with the client rather than in `TagarelaWire.Limits`
/// because the client is a library both processes use on their own loops (the gateway never
/// reads them from its configuration); the caller tunes the per-connection ones in `NATSOptions`.
public enum NATSLimits {
    /// A control line (`INFO {...}`, `MSG ...`, `-ERR '...'`) longer than this is refused and the
    /// connection dropped, before more of it is buffered. The longest line a server sends is
    /// INFO, whose `connect_urls` grows with the cluster (about 25 bytes per server): 16 KiB
    /// holds several hundred servers; every other line is under 1 KiB (subjects are short).
    public static let controlLineBytesMax = 16 * 1024

    /// Payload bound before the server's INFO says its `max_payload`: the server's default
    /// (1 MiB). A server may only send what it accepts, and it announces that in INFO.
    public static let payloadBytesDefault = 1 << 20

    /// Ceiling on whatever `max_payload` a server announces: nats-server refuses to start with
    /// more than 64 MiB, so a larger figure is a broken or hostile server, not a setting.
    public static let payloadBytesCeiling = 64 << 20

    /// Header fields in one message past this are refused: the header block is inside the
    /// payload bound already, this bounds the parsed array; NATS itself and JetStream add a
    /// handful (`Nats-Expected-...`, `KV-Operation`), 256 is far above any real use.
    public static let headerCountMax = 256

    /// Unsent bytes on the socket past which the connection is dropped and re-established:
    /// the server is not reading (or the network is gone); what a caller does about its own
    /// backlog it decides from `NATSConnection.queuedBytes` long before this.
    public static let socketQueuedBytesMax = 64 << 20

    /// Requests awaiting a reply on one connection; past it `request` fails at once with
    /// `.tooManyRequests` rather than growing the table (each holds a timer and a closure).
    public static let requestsInFlightMax = 65_536

    /// How long a server may take from TCP connect to answering our PING after CONNECT before
    /// the attempt is given up and the next server tried: a live server on a LAN answers in
    /// milliseconds; 2 s keeps a failover within the few seconds the issue asks for.
    public static let handshakeTimeoutMs: Int64 = 2_000

    /// Default `NATSOptions.pendingBytesMax`: publishes buffered while disconnected. 8 MiB is
    /// a few seconds of a busy link's traffic, the failover time; past it publishes are dropped
    /// (and `publish` says so) rather than held without bound.
    public static let pendingBytesDefault = 8 << 20

    /// A key-value write that finds no responders is tried again this many times,
    /// `jetStreamRetryWaitMs` apart: right after a stream is made, or while a cluster elects a new
    /// stream leader, nobody listens on its subjects for a moment (nats.go retries the same way).
    /// 4 x 250 ms rides out the first case and the start of the second without hiding a stream
    /// that does not exist for long.
    public static let jetStreamPublishRetries = 4
    public static let jetStreamRetryWaitMs: Int64 = 250
}
