// Limits: every bound the gateway enforces, in one value, each with the reason it exists.

/// Every size, count, rate and time bound of Tagarela, with its default.
///
/// Units come last in the names (`...BytesMax`, `...Ms`). Each bound exists so that one peer
/// cannot make the process hold unbounded memory, time or descriptors; the comments say which.
/// The NATS client's bounds (control line, payload, headers, socket queue, requests in flight,
/// handshake time, the disconnected buffer) are in `TagarelaNATS.NATSLimits`, with the client
/// both processes use (TagarelaNATS does not import this module).
public struct Limits: Sendable, Equatable {
    /// A request head (request line plus headers) past this is answered `431`.
    /// 8 KiB is the common server default (nginx, Node); a handshake needs far less, and the
    /// head must be buffered whole before it can be parsed, so this bounds that buffer.
    public var httpHeadBytesMax: Int = 8 * 1024

    /// More header fields than this is answered `431`: bounds the parsed header array even when
    /// every field is tiny, and no legitimate upgrade request comes close.
    public var httpHeaderCountMax: Int = 100

    /// A WebSocket message (all its fragments together) past this closes with 1009.
    /// Chat messages are at most 4000 characters; the largest request, a message with a 512 KiB
    /// attachment, is about 725 KB (its base64 is 699,052 bytes); 1 MiB holds it while
    /// bounding the reassembly buffer of each connection (PROTOCOL.md 2.5).
    public var webSocketMessageBytesMax: Int = 1 << 20

    /// A raw TCP line past this gets `too_large` and the connection is closed: the same bound as
    /// a WebSocket message, for the same reason (PROTOCOL.md 2.5).
    public var ndjsonLineBytesMax: Int = 1 << 20

    /// RFC 6455 section 5.5: control frames carry at most 125 payload bytes. A protocol constant,
    /// not a setting, kept here so every bound is in one place.
    public static let controlFramePayloadBytesMax: Int = 125

    /// Bytes queued for one client before it is disconnected as a slow reader: one client that
    /// does not read must not hold the gateway's memory (PROTOCOL.md 2.5). Derived from the
    /// largest response (`OutputBounds.responseBytesMax` in TagarelaModel, computed from the
    /// protocol's field limits): a get_messages page of 200 messages of at most 27.9 KB each
    /// (4000 control characters are 24,000 bytes as `\u00XX` escapes, and an attachment's
    /// metadata up to 1.3 KB) is 5.6 MB; a get_user_chats page of 50 chats of at most 64 KB is
    /// 3.2 MB. 8 MiB = 8.39 MB holds the largest response plus its frame header (14 bytes) and
    /// 2.8 MB of events queued beside it
    /// (over a hundred maximum-size `message:new`), so a client that reads is never closed for
    /// a response it asked for. A test checks this against `OutputBounds`.
    public var outgoingQueueBytesMax: Int = 8 << 20

    /// Requests sent to one worker and not yet answered. Past it the gateway stops reading from
    /// the clients that feed that worker (backpressure) instead of queueing without bound.
    public var inFlightRequestsPerWorkerMax: Int = 4096

    /// Frames from a worker are refused past this, which drops the link (its byte stream cannot
    /// be resynchronised past a frame it will not buffer). The worker never sends a longer one:
    /// its `WorkerConfig.replyFrameBytesMax` is this same value, a response past the largest one
    /// the protocol allows is answered `too_large` there, and events that would not fit travel in
    /// further frames. 8 MiB = 8.39 MB holds the largest response (5.6 MB, see
    /// `outgoingQueueBytesMax`) plus a reply's own fields (under 200 bytes). A test checks both.
    public var linkFrameBytesMax: Int = 8 << 20

    /// Unsent bytes on one worker link past which the link is busy: the clients that feed it
    /// stop being read until it drains (backpressure), as past `inFlightRequestsPerWorkerMax`.
    /// 4 MiB is some hundreds of typical requests (a chat message request is a few KB), enough
    /// to keep a worker fed through a slow turn, while each client can carry the link at most
    /// one request (1 MiB) past it; far under `linkQueuedBytesMax`, so a merely slow worker
    /// makes clients wait rather than losing the link.
    public var linkQueueBusyBytes: Int = 4 << 20

    /// Unsent bytes on one worker link past which the link is closed (its in-flight requests are
    /// answered `unavailable`, then it reconnects): the gateway must not buffer without bound for
    /// a worker that reads nothing. Backpressure stops at `linkQueueBusyBytes` plus one request
    /// per client of the loop, so only a wedged worker with thousands of busy clients reaches
    /// 64 MiB; closing is then the right call.
    public var linkQueuedBytesMax: Int = 64 << 20

    /// Groups one user may create in `groupsCreatedWindowMs`, across all their connections
    /// (a gateway-wide token bucket per user: this many at once, then one every window/this).
    /// `create_group` needs no consent from its members, so group creation is how one user
    /// floods others; a person creates a handful a day. Past it: `limit_reached`
    /// ("groups_created_per_user") with `retry_after_ms` (PROTOCOL.md 3.6).
    public var groupsCreatedPerUserMax: Int = 20

    /// The window of `groupsCreatedPerUserMax`: 10 minutes, so a burst of 20 is followed by at
    /// most 2 groups a minute.
    public var groupsCreatedWindowMs: Int64 = 600_000

    /// Attachment bytes (decoded) one user may send in `attachmentBytesWindowMs`, across all
    /// their connections (a gateway-wide token bucket per user, like `groupsCreatedPerUserMax`).
    /// Every attachment is kept on the shard's disk for good (messages are never deleted), so
    /// this bounds how fast one account can fill it: 16 MiB is 32 maximum-size (512 KiB) files
    /// at once, far above a person sharing photos, while a script is held to about 384 MiB a
    /// day. Past it: `limit_reached` ("attachment_bytes_per_user") with `retry_after_ms`.
    public var attachmentBytesPerUserMax: Int = 16 << 20

    /// The window of `attachmentBytesPerUserMax`: one hour, so after a burst the bucket refills
    /// at about 4.7 KB/s.
    public var attachmentBytesWindowMs: Int64 = 3_600_000

    /// A request forwarded to a worker and not answered within this time is answered
    /// `unavailable` (PROTOCOL.md 2.5) and its in-flight slot is freed: a stopped or wedged
    /// worker must not hold a client, or the link's bound, forever. 10 s is far above a normal
    /// answer (milliseconds; a login waits at most about 5 s behind a full hash queue), so a
    /// merely busy worker is not cut off. An answer that comes later is dropped.
    public var workerRequestTimeoutMs: Int64 = 10_000

    /// Each gateway loop pings each of its worker links this often (the link heartbeat).
    public var workerHeartbeatIntervalMs: Int64 = 1_000

    /// A link whose heartbeat ping waits this long is unresponsive: new requests for that worker
    /// are answered `unavailable` at once instead of after the full request deadline, and
    /// `/healthz` lists it so the supervisor replaces the worker. A worker's loop answers a ping
    /// within milliseconds unless it is stopped or stuck (a compaction writes its snapshot on a
    /// thread of its own; the loop's part takes tens of milliseconds); 5 s leaves a wide margin
    /// for a busy machine.
    public var workerHeartbeatTimeoutMs: Int64 = 5_000

    /// A line or WebSocket message whose first byte has arrived must be complete within this
    /// time, or the connection is closed (NDJSON: a `timeout` error line; WebSocket: 1008).
    /// Without it a peer that sends `{` and stops holds its buffer (up to a full line) forever.
    /// 30 s lets a maximum-size message (1 MiB) arrive at 35 KB/s, slower than any link a chat
    /// client uses. When the gateway itself stopped reading (backpressure, a pending login), the
    /// deadline starts afresh once it reads again: that wait is not the peer's fault.
    public var partialInputTimeoutMs: Int64 = 30_000

    /// Unfinished input (partial lines, WebSocket messages and HTTP heads) the gateway holds for
    /// all its connections together; each loop enforces an equal share. Past it the connections
    /// holding the most are closed first (NDJSON: `too_large`; WebSocket: 1009) until the rest
    /// fits. The per-connection bounds alone let 400 slow senders hold 400 MiB (issue 8); 64 MiB
    /// still takes 64 maximum-size messages in progress at once, while a chat message is at most
    /// about 24 KB of JSON.
    public var partialInputBytesMax: Int = 64 << 20

    /// A connection being closed for abuse (too many `rate_limited`) stops reading, then waits
    /// this long at most for the answers to the requests it was already let through: they were
    /// accepted and may be stored, so the client is told their outcome before the close. 5 s is
    /// far above a durable write or a password hash, and frees the abuser's descriptor soon.
    public var closingAnswersWaitMs: Int64 = 5_000

    /// Client connections in total: each costs a descriptor and a little memory; past this new
    /// connections are refused so the ones already served keep working.
    public var connectionsMax: Int = 200_000

    /// Client connections from one IP address: one host must not take every descriptor.
    public var connectionsPerIPMax: Int = 10_000

    /// A connection that has not finished its first request (sniffing, HTTP head, handshake)
    /// in this time is closed, so idle sockets cannot pile up (PROTOCOL.md 1).
    public var handshakeTimeoutMs: Int64 = 10_000

    /// A WebSocket that has been quiet this long is pinged: keeps NAT mappings alive and finds
    /// dead peers (PROTOCOL.md 1.2).
    public var idlePingIntervalMs: Int64 = 30_000

    /// A pinged WebSocket that has not answered with a pong in this time is closed: its peer is
    /// gone and its descriptor is better spent elsewhere (PROTOCOL.md 1.2).
    public var pongTimeoutMs: Int64 = 60_000

    /// After the server sends a close frame it waits this long for the peer's close before
    /// dropping the TCP connection (RFC 6455 section 7.1.1 lets the server close first).
    public var closeHandshakeTimeoutMs: Int64 = 5_000

    /// Token-bucket refill rate of requests per connection: one client must not monopolise the
    /// workers (PROTOCOL.md 2.5).
    public var requestsPerSecond: Int = 50

    /// Token-bucket size: allows short bursts (opening a chat fetches several things at once).
    public var requestBurst: Int = 100

    /// A connection that receives more `rate_limited` errors than this within
    /// `rateLimitedWindowMs` is closed (WebSocket 1008): it is ignoring the errors.
    public var rateLimitedErrorsMax: Int = 100

    /// The window for `rateLimitedErrorsMax`.
    public var rateLimitedWindowMs: Int64 = 10_000

    /// TCP keepalive on every client socket: after this long without traffic the kernel starts
    /// probing the peer. Raw TCP clients have no ping of their own, so a peer that vanished
    /// without a FIN (a pulled cable, a NAT that forgot the mapping) would otherwise hold its
    /// connection, presence and output queue forever. 60 s is well under the common NAT idle
    /// timeouts (a few minutes) and costs one small packet a minute per idle connection;
    /// WebSocket clients are pinged sooner on top (`idlePingIntervalMs`).
    public var tcpKeepAliveIdleSeconds: Int = 60

    /// Between two unanswered keepalive probes. With `tcpKeepAliveProbesMax` a vanished peer is
    /// dropped 60 s after probing starts: two minutes after its last byte in all.
    public var tcpKeepAliveIntervalSeconds: Int = 10

    /// Unanswered keepalive probes before the kernel gives the connection up. 6 rides out a
    /// lost probe or two on a lossy mobile link without keeping a dead peer for long.
    public var tcpKeepAliveProbesMax: Int = 6

    /// permessage-deflate: a gateway loop's zlib output buffers (one for inflating, one per
    /// deflater) keep at most this much capacity between messages; a bigger one, grown for a
    /// large message (up to `webSocketMessageBytesMax` when inflating), is freed after it. 64 KiB
    /// holds any chat message (4000 characters are at most 24 KB of JSON) so the common case never
    /// reallocates, while one 1 MiB message does not pin 1 MiB per loop for good.
    public var compressionBufferKeptBytesMax: Int = 64 * 1024

    // The journal size that triggers a snapshot is the worker's setting
    // (`WorkerConfig.compactJournalBytes`): the gateway never sees the store.

    /// The defaults above.
    public init() {}

    /// The defaults above, by name.
    public static let `default` = Limits()
}
