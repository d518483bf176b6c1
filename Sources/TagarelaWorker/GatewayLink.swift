// GatewayLink: the worker's end of one gateway loop's link, on any carrier: handles the gateway's frames and batches the worker's.
import TagarelaEventLoop
import TagarelaLink

/// What carries one gateway loop's link on the worker's side: its Unix connection
/// (`UnixGatewayCarrier`) or the bus, where the loop is known by its reply subject
/// (`BusGatewayCarrier`). The link's frames and their meaning are the same on both.
protocol GatewayLinkCarrier: AnyObject {
    var isClosed: Bool { get }
    /// Bytes handed to `write` and not yet taken.
    var queuedBytes: Int { get }
    /// Whole frames, in order: one turn's batch.
    func write(_ frames: [UInt8])
}

/// One gateway event loop's link to this worker: handles its frames and batches outgoing frames.
final class GatewayLink {
    unowned let server: WorkerServer
    var carrier: GatewayLinkCarrier!
    private var out: [UInt8] = []
    /// The users this gateway loop holds connections of (its subscriptions).
    var subscribed: Set<String> = []
    /// Routing scratch (WorkerServer.route): the events of the reply being routed for this
    /// link, the users of the current event on it, and the pass that last touched it.
    var routed: [LinkEvent] = []
    var routeUsers: [String] = []
    var routeMark: UInt64 = 0
    /// The gateway process this loop belongs to, on the bus (`C.gw.G`); nil on a Unix link,
    /// whose one gateway ends its own sessions.
    var gatewayKey: String?

    init(server: WorkerServer) {
        self.server = server
    }

    var isClosed: Bool { carrier.isClosed }

    /// One frame from the gateway loop.
    func receive(_ frame: LinkFrame) {
        switch frame {
        case .request(let request): server.handle(request, from: self)
        case .ping(let nonce): enqueue(.pong(nonce))
        case .subscribe(let users): server.subscribe(users, link: self)
        case .unsubscribe(let users): server.unsubscribe(users, link: self)
        case .statsRequest(let nonce): enqueue(.stats(server.stats(nonce: nonce)))
        case .reply, .events, .pong, .stats: break  // the gateway never sends these; ignore
        }
    }

    func enqueue(_ frame: LinkFrame) {
        LinkCodec.encode(frame, into: &out)
    }

    /// Queues a reply and its events in frames the gateway accepts (`replyFrameBytesMax`).
    func enqueue(_ reply: LinkReply) {
        var dropped = 0
        let fits = LinkCodec.encodeBounded(reply, frameBytesMax: server.config.replyFrameBytesMax, into: &out,
                                           droppedEvents: &dropped)
        // `finish` bounded the response below the frame bound with room for the reply's fields.
        precondition(fits, "a reply larger than its frame bound passed finish()")
        reportDropped(dropped)
    }

    /// Queues events in frames the gateway accepts.
    func enqueue(events: [LinkEvent]) {
        var dropped = 0
        LinkCodec.encodeBounded(events: events[...], frameBytesMax: server.config.replyFrameBytesMax, into: &out,
                                droppedEvents: &dropped)
        reportDropped(dropped)
    }

    /// An event larger than a whole frame cannot be built from the protocol's limits (the
    /// largest is a chat object and 1000 user ids, about 100 KB); if one ever is, it is left
    /// out and logged rather than dropping the link with everything in flight on it.
    private func reportDropped(_ count: Int) {
        if count > 0 { server.logLine("an event larger than a link frame was not sent (\(count))") }
    }

    /// Hands this turn's frames to the carrier as one chunk (one writev for the whole batch).
    func flush() {
        guard !out.isEmpty else { return }
        carrier.write(out)
        out.removeAll(keepingCapacity: true)
    }
}

/// A gateway loop's link over the worker's Unix socket: decodes the byte stream into frames,
/// and stops reading a gateway that does not take its replies (backpressure).
final class UnixGatewayCarrier: GatewayLinkCarrier, ChannelHandler {
    let link: GatewayLink
    var channel: Channel!
    private var decoder: LinkDecoder

    init(link: GatewayLink, maxFrameBytes: Int) {
        self.link = link
        self.decoder = LinkDecoder(maxFrameBytes: maxFrameBytes)
        link.carrier = self
    }

    var isClosed: Bool { channel.isClosed }
    var queuedBytes: Int { channel.queuedBytes }

    func write(_ frames: [UInt8]) {
        channel.write(frames)
    }

    func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
        do {
            try decoder.feed(UnsafeRawBufferPointer(bytes)) { frame in link.receive(frame) }
        } catch {
            // A broken frame means the byte stream can no longer be trusted: drop the link;
            // the gateway answers its in-flight requests with `unavailable` and reconnects.
            channel.close()
        }
        if channel.queuedBytes > link.server.config.maxLinkQueuedBytes { channel.pauseReading() }
    }

    func channelWritable(_ channel: Channel) {
        if channel.isReadingPaused { channel.resumeReading() }
    }

    func channelClosed(_ channel: Channel) {
        link.server.linkClosed(link)
    }
}
