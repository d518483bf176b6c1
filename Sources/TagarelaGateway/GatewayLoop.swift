// GatewayLoop: one event loop's share of the gateway: its listener, connections and worker links, and what connects them.
import TagarelaBus
import TagarelaEventLoop
import TagarelaLink
import TagarelaModel
import TagarelaSystem
import TagarelaWire

/// Whoever waits for a worker's answer: a client connection, which hands it to its session.
protocol LinkRequester: AnyObject {
    func drive(_ event: SessionEvent)
}

/// Where a worker's answer goes: to `requester`, with `tag`.
struct PendingReply {
    let requester: any LinkRequester
    let tag: ReplyTag
}

/// Everything one loop thread owns. Only that thread touches it; other loops reach it through
/// `eventLoop.execute` (session ends, metrics), and the one table they share is `PresenceTable`.
///
/// The loop carries things between its parts and decides nothing per request: a connection's
/// requests are its `Session`'s (reached by connections through `ConnectionHost`), a worker's
/// bookkeeping its `WorkerLink`'s (which reports through `WorkerLinkDelegate`). What is the
/// loop's own: accepting, the user index that fan-out and session ends walk
/// (`GatewayLoop+FanOut.swift`), and health and metrics (`GatewayLoop+Health.swift`).
final class GatewayLoop {
    let index: Int
    let eventLoop: EventLoop
    unowned let gateway: Gateway
    let config: GatewayConfig
    let sessionSettings: SessionSettings
    let listenFD: Int32
    private(set) var links: [WorkerLink] = []
    var counters: LoopCounters
    /// Latency histograms and the delivery clock that feeds one of them (LoopHistograms.swift).
    var histograms = LoopHistograms()
    var deliveryClock = DeliveryClock()
    /// `/metrics` answers waiting for the gathering in flight (`gatherMetricsText`).
    var metricsWaiters: [(String) -> Void] = []
    /// Every open client connection of this loop, for the periodic sweep.
    private(set) var connections: [UInt64: ClientConnection] = [:]
    /// This loop's share of `Limits.partialInputBytesMax` and who holds it.
    private(set) var partialInput: PartialInputBudget
    /// user id -> this loop's authenticated connections of that user (the fan-out index).
    var byUser: [String: [ClientConnection]] = [:]
    private var nextRequestID: UInt64 = 0
    /// This loop's bus connection when the links ride the bus (`config.bus`), else nil.
    private(set) var busHub: BusLoopHub?
    /// This loop's permessage-deflate state; nil when compression is off or zlib is missing.
    let compression: LoopCompression?

    init(index: Int, gateway: Gateway, config: GatewayConfig, listenFD: Int32) throws {
        self.index = index
        self.gateway = gateway
        self.config = config
        self.sessionSettings = SessionSettings(workers: config.workers, limits: config.limits,
                                               policy: config.rateLimitPolicy,
                                               presenceFromWorkers: config.bus != nil && config.workers > 0)
        self.listenFD = listenFD
        self.eventLoop = try EventLoop()
        eventLoop.flushDelayMs = config.flushDelayMs
        eventLoop.flushHoldBytesMax = config.flushHoldBytesMax
        eventLoop.flushPolicy = config.flushPolicy
        eventLoop.flushSpacingMs = config.flushSpacingMs
        eventLoop.pacedHoldMs = config.clientHoldMs
        self.counters = LoopCounters(workers: config.workers)
        self.partialInput = PartialInputBudget(bytesMax: max(1, config.limits.partialInputBytesMax / config.loops))
        self.compression = gateway.zlib.flatMap {
            try? LoopCompression(zlib: $0, thresholdBytes: config.compressionThresholdBytes,
                                 bufferKeptBytesMax: config.limits.compressionBufferKeptBytesMax)
        }
    }

    /// Runs on the loop thread before `run()`: listener, links, sweep timer.
    func start() {
        let limits = config.limits
        let settings = WorkerLinkSettings(
            loopIndex: index, inFlightMax: limits.inFlightRequestsPerWorkerMax, queueBusyBytes: limits.linkQueueBusyBytes,
            requestTimeoutMs: limits.workerRequestTimeoutMs, heartbeatIntervalMs: limits.workerHeartbeatIntervalMs,
            heartbeatTimeoutMs: limits.workerHeartbeatTimeoutMs, reconnectMinMs: config.linkReconnectMinMs,
            reconnectMaxMs: config.linkReconnectMaxMs, log: config.log)
        if let bus = config.bus {
            busHub = BusLoopHub(settings: bus, gatewayID: gateway.busID, loopIndex: index, eventLoop: eventLoop, log: config.log)
            busHub!.start()
        }
        for k in 0..<config.workers {
            let transport: LinkTransport
            let address: String
            if let hub = busHub {
                let t = NATSLinkTransport(shard: k, hub: hub, eventLoop: eventLoop, frameBytesMax: limits.linkFrameBytesMax,
                                          silenceMs: limits.workerHeartbeatTimeoutMs)
                (transport, address) = (t, t.address)
            } else {
                address = config.workerSocketPath(k)
                transport = UnixSocketLinkTransport(path: address, eventLoop: eventLoop, frameBytesMax: limits.linkFrameBytesMax,
                                                    queuedBytesMax: limits.linkQueuedBytesMax,
                                                    peerUID: config.workerPeerUID, log: config.log)
            }
            let link = WorkerLink(worker: k, transport: transport, address: address, settings: settings,
                                  eventLoop: eventLoop, delegate: self)
            links.append(link)
            link.connect()
        }
        eventLoop.addListener(fd: listenFD) { [unowned self] fd, peer in accept(fd: fd, peer: peer) }
        scheduleSweep()
        scheduleLinkTick()
        eventLoop.addAfterFlush { [unowned self] in deliveryClock.flushed(into: &histograms.deliveryNs) }
    }

    /// Request deadlines and heartbeats of every worker link (see `WorkerLink.tick`).
    private func scheduleLinkTick() {
        eventLoop.schedule(afterMs: config.linkTickIntervalMs) { [weak self] in
            guard let self = self else { return }
            let now = self.eventLoop.nowMs
            for link in self.links { link.tick(nowMs: now) }
            self.busHub?.tick(nowMs: now)
            self.scheduleLinkTick()
        }
    }

    /// Runs on the loop thread: stops accepting and reconnecting; `EventLoop.run` then closes
    /// every channel on its way out.
    func prepareStop() {
        eventLoop.removeListener(fd: listenFD)
        for link in links { link.stopped = true }
        busHub?.stop()
    }

    // MARK: - Connections

    private func accept(fd: Int32, peer: String) {
        let host = ConnectionAdmission.host(ofPeer: peer)
        guard gateway.admission.admit(host: host) else {
            counters.connectionsRefused += 1
            GatewayLoop.refuse(fd)
            return
        }
        try? Socket.setNoDelay(fd)
        // The kernel's keepalive notices a peer that vanished without a FIN (Limits says why).
        let limits = config.limits
        try? Socket.setKeepAlive(fd, idleSeconds: Int32(clamping: limits.tcpKeepAliveIdleSeconds),
                                 intervalSeconds: Int32(clamping: limits.tcpKeepAliveIntervalSeconds),
                                 probes: Int32(clamping: limits.tcpKeepAliveProbesMax))
        counters.connectionsAccepted += 1
        let conn = ClientConnection(loop: self, host: host, nowMs: eventLoop.nowMs)
        conn.channel = eventLoop.register(fd: fd, handler: conn, maxQueuedBytes: limits.outgoingQueueBytesMax)
        conn.channel.pacedFlushes = true  // clients, not worker links, are paced by --flush-spacing-ms
        counters.adjustTransport(.pending, by: 1)
        connections[conn.id] = conn
        conn.logOpened()
    }

    /// What a connection past a limit gets before the close (PROTOCOL.md 2.5: a clear error,
    /// never a silent drop). Its protocol is not known yet, and registering it to find out would
    /// spend the very descriptors the limit protects, so it is HTTP's 503: what HTTP and
    /// WebSocket clients expect, and still a readable line for a raw TCP client.
    static let refusal = HTTPResponse.error(status: 503, message: "too many connections",
                                            headers: [("Retry-After", "1")])

    /// Writes `refusal` on a fresh socket (its empty send buffer takes it in one non-blocking
    /// write), sends FIN, and closes. What the client already sent is read first: closing with
    /// unread input makes the kernel send a reset, which could destroy the 503 unread.
    static func refuse(_ fd: Int32) {
        _ = refusal.withUnsafeBytes { try? FileDescriptor.write(fd, $0) }
        try? Socket.shutdownWrite(fd)
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 16) { scratch in
            for _ in 0..<4 {
                guard case .bytes? = try? FileDescriptor.read(fd, into: scratch) else { break }
            }
        }
        FileDescriptor.close(fd)
    }

    private func scheduleSweep() {
        eventLoop.schedule(afterMs: config.sweepIntervalMs) { [weak self] in
            guard let self = self else { return }
            let now = self.eventLoop.nowMs
            for conn in self.connections.values where !conn.isClosed {
                conn.sweep(nowMs: now)
            }
            self.scheduleSweep()
        }
    }
}

// MARK: - What connections may ask

extension GatewayLoop: ConnectionHost {
    var limits: Limits { config.limits }
    var logWriter: LogWriter { config.logWriter }
    var slowRequestNs: Int64 { config.slowRequestMs * 1_000_000 }
    var loopIndex: Int { index }
    var flushRepliesPromptly: Bool { config.flushRepliesPromptly }
    var nowMs: Int64 { eventLoop.nowMs }

    func linkState(_ shard: Int) -> LinkState {
        let link = links[shard]
        return !link.isUp ? .down : link.isBusy ? .busy : .ready
    }

    func forward(_ request: LinkRequest, toShard shard: Int, from conn: ClientConnection, tag: ReplyTag) {
        var request = request
        nextRequestID &+= 1
        request.requestID = nextRequestID
        links[shard].send(request, PendingReply(requester: conn, tag: tag))
    }

    func park(_ conn: ClientConnection, onShard shard: Int) {
        links[shard].addWaiter(conn)
    }

    func presence(_ userIDs: [String]) -> [Bool] {
        gateway.presence.states(userIDs)
    }

    func takeGroupQuota(_ userID: String) -> Int64? {
        gateway.groupQuota.take(userID, nowMs: eventLoop.nowMs)
    }

    func takeAttachmentQuota(_ userID: String, bytes: Int) -> Int64? {
        gateway.attachmentQuota.take(userID, cost: bytes, nowMs: eventLoop.nowMs)
    }

    /// Past this loop's share of the bound on unfinished input, the biggest holders are closed
    /// until the rest fits.
    func partialInputChanged(_ conn: ClientConnection) {
        for id in partialInput.update(conn.id, bytes: conn.partialBytes) {
            connections[id]?.closeForUnfinishedInput(.total)
        }
    }

    func connectionClosed(_ conn: ClientConnection) {
        partialInput.remove(conn.id)
        connections[conn.id] = nil
        gateway.admission.release(host: conn.host)
    }
}

// MARK: - What links report

extension GatewayLoop: WorkerLinkDelegate {
    func link(_ link: WorkerLink, answered pending: PendingReply, with reply: LinkReply) {
        pending.requester.drive(.reply(pending.tag, reply))
        if !reply.events.isEmpty { deliver(reply.events) }
    }

    func link(_ link: WorkerLink, failed pending: PendingReply) {
        pending.requester.drive(.failed(pending.tag))
    }

    func link(_ link: WorkerLink, delivers events: [LinkEvent]) {
        deliver(events)
    }

    /// The client was told `unavailable`, but the worker did the work: its events are delivered,
    /// and sessions it ended (a late logout_all or change_password) end on every connection,
    /// the requester's too (it never learned of a new session).
    func link(_ link: WorkerLink, lateReply reply: LinkReply) {
        if !reply.endSessionID.isEmpty && !reply.endUserID.isEmpty {
            endSessions(userID: reply.endUserID, sessionID: reply.endSessionID, except: 0,
                        reason: Events.sessionEndReason(endSessionID: reply.endSessionID,
                                                        rebindsCaller: !reply.authUserID.isEmpty))
        }
        if !reply.events.isEmpty { deliver(reply.events) }
    }

    func subscribedUsers() -> [String] {
        Array(byUser.keys)
    }

    /// A link came back after being down: the session ends its worker processed meanwhile
    /// reached no connection here (PROTOCOL.md 3.2), so every connection bound to a user of that
    /// shard checks its session again, on this link, behind the subscriptions just sent.
    func linkResubscribed(_ link: WorkerLink) {
        let workers = sessionSettings.workers
        guard workers > 0 else { return }
        for (userID, connections) in byUser where Slots.worker(for: userID, workers: workers) == link.worker {
            for conn in connections { conn.drive(.linkResubscribed) }
        }
    }
}
