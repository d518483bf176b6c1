// RunCounters: everything one event-loop thread of the bench counts during a run, mergeable across threads.

/// Counters and latency histograms of one bench thread (or, after `merge`, of the whole bench).
/// Plain values: each thread owns its copy and the driver merges snapshots.
public struct RunCounters: Equatable {
    // Connections.
    /// Connections attempted (TCP connect started).
    public var connectStarted = 0
    /// Connections that finished the transport handshake (101 for WebSocket; the TCP connect for raw).
    public var connected = 0
    /// Connections that failed before they were ready.
    public var connectFailed = 0
    /// Ready connections that the server (or the network) closed while the bench still wanted them.
    public var closedUnexpectedly = 0
    /// Microseconds from connect() to a ready connection.
    public var handshakeUs = LatencyHistogram()

    // Identity and groups.
    /// Successful `register` responses.
    public var registered = 0
    /// Successful `login` or `auth` responses.
    public var authenticated = 0
    /// Successful `create_group` responses.
    public var groupsCreated = 0

    // Messages.
    /// `message` requests written (with a send time inside the measured window).
    public var sent = 0
    /// Sends skipped because the bench's own output queue to the server was over its bound.
    public var sendsSkipped = 0
    /// `status: ok` responses to `message`.
    public var acked = 0
    /// `status: error` responses to `message`.
    public var ackErrors = 0
    /// `message:new` events received (counted ones: send time inside the measured window).
    public var deliveries = 0
    /// Deliveries of a `seq` the receiver had already seen.
    public var duplicates = 0
    /// Deliveries of a fresh `seq` below the highest one already delivered.
    public var outOfOrder = 0
    /// Acknowledgement latency (send time in `content` to the response), microseconds.
    public var ackUs = LatencyHistogram()
    /// Delivery latency (send time in `content` to the `message:new`), microseconds.
    public var deliveryUs = LatencyHistogram()
    /// How late the bench itself sent each open-loop message (actual minus scheduled send time),
    /// microseconds: when this is high, the bench, not the server, is behind.
    public var sendLagUs = LatencyHistogram()
    /// Error responses by `code` (every request type), plus `closed:<reason>` for transport trouble.
    public var errors: [String: Int] = [:]
    /// Bytes of the server's messages as the bench reads them (inflated when compressed).
    public var bytesIn: Int64 = 0
    /// Bytes read from the sockets: what crossed the wire, frames and compression included.
    public var wireBytesIn: Int64 = 0
    /// Bytes handed to the server (queued for writing).
    public var bytesOut: Int64 = 0

    // Storm.
    /// Clients back (connected and authenticated) after the storm.
    public var reconnected = 0
    /// Clients whose catch-up (`get_messages` with `after_seq`) finished.
    public var caughtUp = 0
    /// Messages fetched by the catch-ups that the receiver had not seen.
    public var caughtUpMessages = 0

    /// Creates zeroed counters.
    public init() {}

    /// Counts one error by code.
    public mutating func countError(_ code: String) {
        errors[code, default: 0] += 1
    }

    /// Adds `other` into these counters.
    public mutating func merge(_ other: RunCounters) {
        connectStarted += other.connectStarted
        connected += other.connected
        connectFailed += other.connectFailed
        closedUnexpectedly += other.closedUnexpectedly
        handshakeUs.merge(other.handshakeUs)
        registered += other.registered
        authenticated += other.authenticated
        groupsCreated += other.groupsCreated
        sent += other.sent
        sendsSkipped += other.sendsSkipped
        acked += other.acked
        ackErrors += other.ackErrors
        deliveries += other.deliveries
        duplicates += other.duplicates
        outOfOrder += other.outOfOrder
        ackUs.merge(other.ackUs)
        deliveryUs.merge(other.deliveryUs)
        sendLagUs.merge(other.sendLagUs)
        for (code, n) in other.errors { errors[code, default: 0] += n }
        bytesIn += other.bytesIn
        wireBytesIn += other.wireBytesIn
        bytesOut += other.bytesOut
        reconnected += other.reconnected
        caughtUp += other.caughtUp
        caughtUpMessages += other.caughtUpMessages
    }

    /// The counters of the message phase set back to zero (connection and setup counts kept),
    /// at the start of a measured window.
    public mutating func resetMessageCounters() {
        sent = 0
        sendsSkipped = 0
        acked = 0
        ackErrors = 0
        deliveries = 0
        duplicates = 0
        outOfOrder = 0
        ackUs.reset()
        deliveryUs.reset()
        sendLagUs.reset()
        errors = [:]
        bytesIn = 0
        wireBytesIn = 0
        bytesOut = 0
    }
}
