// BusListener: the worker's links over the bus: one GatewayLink per gateway loop, known by its reply subject, dropped when it falls silent.
import TagarelaBus
import TagarelaEventLoop
import TagarelaLink
import TagarelaNATS
import TagarelaSystem

/// Serves shard K on the bus (PROTOCOL.md 3.8): subscribed to `C.shard.K`; every message names
/// the gateway loop that sent it by its reply subject, which becomes that loop's `GatewayLink`
/// (its subscriptions, its answers). Gateways ping every link each
/// `Limits.workerHeartbeatIntervalMs`, so a loop silent for `WorkerConfig.busPeerSilenceMs` is
/// gone (its gateway died or lost the bus) and its subscriptions are dropped like a closed Unix
/// link's. A ping with nonce 0 starts a loop's link afresh (`NATSLinkTransport.connect`).
final class BusListener {
    private unowned let server: WorkerServer
    let bus: LinkBus
    private let subjects: BusSubjects
    /// This worker's incarnation, on every message (`Tg-Epoch`): the gateways see a restart.
    let epoch: String
    private var peers: [String: BusPeer] = [:]
    private var subscription: Int?
    private var wasConnected = false

    init(server: WorkerServer, settings: BusSettings, epoch: String) {
        self.server = server
        self.subjects = settings.subjects
        self.epoch = epoch
        self.bus = settings.connect(server.loop, "tagarela-worker-\(server.config.shard)")
    }

    /// Starts connecting; serving begins with `serve()`.
    func start() {
        bus.onStateChange = { [weak self] state in
            guard let self else { return }
            switch state {
            case .connected(let url):
                self.wasConnected = true
                self.server.logLine("bus connected (\(url))")
            case .connecting: if self.bus.isConnected == false && self.wasConnected { self.server.logLine("bus connection lost; reconnecting") }
            case .closed(let reason): self.server.logLine("bus connection closed (\(reason))")
            }
        }
        bus.start()
        scheduleSweep()
    }

    /// Takes requests for the shard once this worker holds its lease (at once without one).
    func serveWhenOwned() {
        guard let owner = server.config.busOwnerID, let nats = bus as? NATSLinkBus else { return serve() }
        var asked = false
        let previous = bus.onStateChange
        bus.onStateChange = { [weak self] state in
            previous?(state)
            guard let self, case .connected = state, !asked else { return }
            asked = true
            self.holdLease(nats.connection, owner: owner)
        }
    }

    /// Renews the lease `Worker.run` took (ours again at once: same owner id); fences on loss.
    private func holdLease(_ connection: NATSConnection, owner: String) {
        let settings = server.config.bus!
        let shard = server.config.shard
        ShardLease.ensure(connection, settings) { [weak self] kv in
            guard let self else { return }
            let lease = NATSLease(kv: kv, key: settings.subjects.leaseKey(shard), owner: owner)
            lease.onLost = { [weak self] reason in self?.server.fence("lease lost: \(reason)") }
            self.lease = lease
            lease.acquire { [weak self] result in
                switch result {
                case .success: self?.serve()
                case .failure(let error): self?.server.fence("the lease could not be kept: \(error)")
                }
            }
        } failed: { [weak self] error in self?.server.fence(error.description) }
    }

    private var lease: NATSLease?

    /// Gives the lease back (a clean stop), so a successor need not wait for it to expire.
    func releaseLease() {
        lease?.release()
    }

    /// Takes requests for the shard.
    func serve() {
        guard subscription == nil else { return }
        subscription = bus.subscribe(subjects.shard(server.config.shard)) { [weak self] message in self?.received(message) }
    }

    /// Stops taking requests (fenced: the lease is lost) and forgets every loop.
    func stopServing() {
        if let subscription { bus.unsubscribe(subscription) }
        subscription = nil
        for peer in peers.values { close(peer) }
        peers = [:]
    }

    var peerCount: Int { peers.count }

    /// When the loop last ran its stall check (`scheduleSweep`'s timer), with a lease only.
    private var lastTickMs: Int64 = 0

    private func received(_ message: BusMessage) {
        // The loop runs ready input before due timers: after a stall (SIGSTOP, a machine that
        // froze) the lease's own fence timer fires only after this turn's messages. A stall past
        // a third of the lease's TTL (one renewal period) may have let the lease expire and
        // another worker take the shard: fence before answering anything.
        if lease != nil, lastTickMs > 0, server.loop.nowMs - lastTickMs > ShardLease.ttlMs / 3 {
            server.fence("the loop stalled for \(server.loop.nowMs - lastTickMs) ms; the lease may have expired")
            return
        }
        // Only gateway loops of this cluster can be answered: anything else is not a link.
        guard message.status == nil, message.reply.hasPrefix(subjects.cluster + ".gw.") else { return }
        let peer: BusPeer
        if let known = peers[message.reply] {
            peer = known
        } else {
            guard peers.count < server.config.busPeersMax else {
                server.logLine("refused a link from \(message.reply): \(server.config.busPeersMax) gateway loops already linked")
                return
            }
            peer = BusPeer(reply: message.reply, listener: self, server: server, frameBytesMax: server.config.maxLinkFrameBytes)
            peers[message.reply] = peer
            server.addLink(peer.link)
        }
        peer.lastHeardMs = server.loop.nowMs
        guard let bytes = peer.joiner.accept(message.payload, part: message.header(BusFraming.partHeader)) else { return }
        var decoder = LinkDecoder(maxFrameBytes: server.config.maxLinkFrameBytes)
        var broken = false
        do {
            try decoder.feed(bytes) { frame in
                if case .ping(0) = frame { server.resetSubscriptions(peer.link) }
                peer.link.receive(frame)
            }
        } catch {
            broken = true
        }
        if broken || decoder.bufferedBytes > 0 {
            // As on a Unix link: a peer that sends what is not a frame is dropped; its gateway
            // loop starts a fresh link when its heartbeat goes unanswered.
            server.logLine("dropped the link of \(message.reply): a bus message that is not whole link frames")
            close(peer)
            peers[message.reply] = nil
        }
    }

    fileprivate func publish(_ frames: [UInt8], to reply: String) {
        for message in BusFraming.split(frames, maxPayload: bus.maxPayload) {
            var headers = [(BusFraming.epochHeader, epoch)]
            if let part = message.part { headers.append((BusFraming.partHeader, part)) }
            bus.publish(reply, reply: "", headers: headers, payload: message.payload)
        }
    }

    private func close(_ peer: BusPeer) {
        peer.closed = true
        server.linkClosed(peer.link)
    }

    /// Drops every loop silent for longer than `busPeerSilenceMs`.
    private func scheduleSweep() {
        // Often enough for the stall check too (a tenth of the lease's TTL).
        let every = max(100, min(server.config.busPeerSilenceMs / 4, ShardLease.ttlMs / 10))
        server.loop.schedule(afterMs: every) { [weak self] in
            guard let self else { return }
            let now = self.server.loop.nowMs
            self.lastTickMs = now
            for (reply, peer) in self.peers where now - peer.lastHeardMs > self.server.config.busPeerSilenceMs {
                self.server.logLine("gateway loop \(reply) silent for \(self.server.config.busPeerSilenceMs) ms; its subscriptions dropped")
                self.close(peer)
                self.peers[reply] = nil
            }
            self.scheduleSweep()
        }
    }
}

/// One gateway loop on the bus: its link and what its messages need between them.
private final class BusPeer: GatewayLinkCarrier {
    let reply: String
    let link: GatewayLink
    unowned let listener: BusListener
    var joiner: BusFraming.Joiner
    var lastHeardMs: Int64 = 0
    var closed = false

    init(reply: String, listener: BusListener, server: WorkerServer, frameBytesMax: Int) {
        self.reply = reply
        self.listener = listener
        self.link = GatewayLink(server: server)
        // `C.gw.G.L.K` -> `C.gw.G`: every loop of one gateway shares it.
        link.gatewayKey = reply.split(separator: ".").dropLast(2).joined(separator: ".")
        self.joiner = BusFraming.Joiner(bytesMax: frameBytesMax)
        link.carrier = self
    }

    var isClosed: Bool { closed }
    var queuedBytes: Int { listener.bus.queuedBytes }

    func write(_ frames: [UInt8]) {
        guard !closed else { return }
        listener.publish(frames, to: reply)
    }
}
