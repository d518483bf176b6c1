// LinkTransport: the carrier of one gateway-worker link (today a Unix socket), behind the few calls WorkerLink makes.
import TagarelaLink

/// Carries link frames between one gateway loop and one worker, and nothing else: no request
/// bookkeeping, deadlines or heartbeats (those are `WorkerLink`'s, the same on every carrier).
///
/// A carrier moves whole frames as `LinkCodec` encodes them (each with its length prefix), in
/// order, both ways, on the loop's thread; it never blocks the loop, not even to connect.
/// `UnixSocketLinkTransport` is the one in use; another carrier (a message bus) implements the
/// same calls, and sessions, the loop and the workers' engine do not change.
protocol LinkTransport: AnyObject {
    /// Hears what the carrier hears. Set once, before `connect`.
    var delegate: LinkTransportDelegate? { get set }
    /// True from `transportConnected` until `transportClosed`: frames may be sent.
    var isConnected: Bool { get }
    /// Bytes handed to `send` and not yet taken by the carrier: the link is busy past
    /// `Limits.linkQueueBusyBytes` (backpressure).
    var queuedBytes: Int { get }
    /// Starts connecting, without waiting. False when the attempt failed at once (the peer is
    /// absent or refuses for now): the caller tries again later. True when it is under way or
    /// done: `transportConnected` follows (perhaps before this returns), or `transportClosed`.
    func connect() -> Bool
    /// Queues encoded frames (one or more whole frames, in order). Output leaves at the end of
    /// the loop's turn, or later under output coalescing unless `flushPromptly` is asked.
    func send(_ frames: [UInt8])
    /// Asks for what is queued to leave in this turn's flush.
    func flushPromptly()
    /// Drops the connection at the loop's next safe point; `transportClosed` follows.
    func close()
}

/// What a `LinkTransport` tells its link. Every call arrives on the loop's thread, never from
/// inside a `send`.
protocol LinkTransportDelegate: AnyObject {
    /// The carrier is connected: frames may be sent.
    func transportConnected()
    /// One whole frame arrived.
    func transportReceived(_ frame: LinkFrame)
    /// The frames of one read were delivered: a point to look at the link's bounds again.
    func transportDeliveredBatch()
    /// Queued output drained below the carrier's low-water mark.
    func transportWritable()
    /// The peer sent bytes that are not a valid frame (`reason` says how); the transport is
    /// closing, since a byte stream cannot be resynchronised past a frame it will not read.
    func transportRefusedInput(_ reason: String)
    /// The connection is gone (or the attempt failed); nothing more arrives on it.
    func transportClosed()
}
