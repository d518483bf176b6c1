// GatewayLoop: one event loop's share of the gateway: its listener, connections, user index, worker links and fan-out.
import TagarelaEventLoop
import TagarelaLink
import TagarelaModel
import TagarelaSystem
import TagarelaWire

/// Everything one loop thread owns. Only that thread touches it; other loops reach it through
/// `eventLoop.execute` (session ends, metrics), and the one table they share is `PresenceTable`.
final class GatewayLoop {
    let index: Int
    let eventLoop: EventLoop
    unowned let gateway: Gateway
    let config: GatewayConfig
    let policy: RateLimitPolicy
    let listenFD: Int32
    var links: [WorkerLink] = []
    var counters: LoopCounters
    /// Every open client connection of this loop, for the periodic sweep.
    private(set) var connections: [UInt64: ClientConnection] = [:]
    /// This loop's share of `Limits.partialInputBytesMax` and who holds it.
    var partialInput: PartialInputBudget
    /// user id -> this loop's authenticated connections of that user (the fan-out index).
    private(set) var byUser: [String: [ClientConnection]] = [:]
    private var nextRequestID: UInt64 = 0

    init(index: Int, gateway: Gateway, config: GatewayConfig, listenFD: Int32) throws {
        self.index = index
        self.gateway = gateway
        self.config = config
        self.policy = config.rateLimitPolicy
        self.listenFD = listenFD
        self.eventLoop = try EventLoop()
        eventLoop.flushDelayMs = config.flushDelayMs
        eventLoop.flushHoldBytesMax = config.flushHoldBytesMax
        self.counters = LoopCounters(workers: config.workers)
        self.partialInput = PartialInputBudget(bytesMax: max(1, config.limits.partialInputBytesMax / config.loops))
    }

    /// Runs on the loop thread before `run()`: listener, links, sweep timer.
    func start() {
        for k in 0..<config.workers {
            let link = WorkerLink(loop: self, worker: k, path: config.workerSocketPath(k))
            links.append(link)
            link.connect()
        }
        eventLoop.addListener(fd: listenFD) { [unowned self] fd, peer in accept(fd: fd, peer: peer) }
        scheduleSweep()
        scheduleLinkTick()
    }

    /// Request deadlines and heartbeats of every worker link (see `WorkerLink.tick`).
    private func scheduleLinkTick() {
        eventLoop.schedule(afterMs: config.linkTickIntervalMs) { [weak self] in
            guard let self = self else { return }
            let now = self.eventLoop.nowMs
            for link in self.links { link.tick(nowMs: now) }
            self.scheduleLinkTick()
        }
    }

    /// Runs on the loop thread: stops accepting and reconnecting; `EventLoop.run` then closes
    /// every channel on its way out.
    func prepareStop() {
        eventLoop.removeListener(fd: listenFD)
        for link in links { link.stopped = true }
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
        counters.adjustTransport(.pending, by: 1)
        connections[conn.id] = conn
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

    /// Called once per connection from `channelClosed`.
    func connectionClosed(_ conn: ClientConnection) {
        unbind(conn)
        partialInput.remove(conn.id)
        connections[conn.id] = nil
        gateway.admission.release(host: conn.host)
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

    func makeRequestID() -> UInt64 {
        nextRequestID &+= 1
        return nextRequestID
    }

    // MARK: - Sessions and presence

    /// Binds `conn` to a user and session after a successful login/register/auth.
    func bind(_ conn: ClientConnection, userID: String, sessionID: String) {
        if conn.userID == userID {
            conn.sessionID = sessionID
            return
        }
        unbind(conn)
        conn.userID = userID
        conn.sessionID = sessionID
        if byUser[userID] == nil {
            // This loop's first connection of the user: every worker must now send its events
            // here. The subscribe goes on each link before any later request of this connection.
            byUser[userID] = [conn]
            for link in links { link.sendSubscriptions([userID], subscribe: true) }
        } else {
            byUser[userID]!.append(conn)
        }
        gateway.presence.connect(userID)
    }

    /// Makes `conn` unauthenticated (logout, session ended, close).
    func unbind(_ conn: ClientConnection) {
        let user = conn.userID
        guard !user.isEmpty else { return }
        if var list = byUser[user] {
            list.removeAll { $0 === conn }
            if list.isEmpty {
                byUser[user] = nil
                // The last one: the workers stop sending this user's events to this loop.
                for link in links { link.sendSubscriptions([user], subscribe: false) }
            } else {
                byUser[user] = list
            }
        }
        conn.userID = ""
        conn.sessionID = ""
        gateway.presence.disconnect(user)
    }

    /// A logout ended `sessionID` of `userID` (`SessionScope.everySession`: all of them, after
    /// logout_all or change_password): every other connection of it, on every loop, gets
    /// `session:ended` with `reason` and becomes unauthenticated (PROTOCOL.md 2.1).
    func endSessionEverywhere(userID: String, sessionID: String, except connectionID: UInt64, reason: String = "logout") {
        for loop in gateway.loops {
            if loop === self {
                endSession(userID: userID, sessionID: sessionID, except: connectionID, reason: reason)
            } else {
                loop.eventLoop.execute {
                    loop.endSession(userID: userID, sessionID: sessionID, except: connectionID, reason: reason)
                }
            }
        }
    }

    func endSession(userID: String, sessionID: String, except connectionID: UInt64, reason: String = "logout") {
        guard let list = byUser[userID] else { return }
        let notice = Events.sessionEnded(reason: reason)
        let every = sessionID == SessionScope.everySession
        for conn in list where (every || conn.sessionID == sessionID) && conn.id != connectionID {
            unbind(conn)
            conn.send(notice)
            counters.sessionsEnded += 1
        }
    }

    // MARK: - Fan-out

    /// Writes each event to every local connection of its users but the excluded one. The JSON
    /// is framed once per transport, lazily, and the same bytes are queued on every receiver.
    func deliver(_ events: [LinkEvent]) {
        for event in events {
            counters.eventsReceived += 1
            var frame: OutboundBytes? = nil
            var line: OutboundBytes? = nil
            for user in event.userIDs {
                guard let list = byUser[user] else { continue }
                for conn in list where conn.id != event.excludeConnectionID && !conn.isClosed {
                    let bytes: OutboundBytes
                    if conn.isWebSocketTransport {
                        if frame == nil { frame = FanOut.textFrame(event.json) }
                        bytes = frame!
                    } else {
                        if line == nil { line = FanOut.line(event.json) }
                        bytes = line!
                    }
                    conn.channel.write(bytes)
                    counters.deliveries += 1
                    counters.framesOut += 1
                    counters.bytesOut += bytes.count
                }
            }
        }
    }

    // MARK: - Health and metrics

    /// Pings every worker link of this loop and reports the workers that did not answer in time
    /// (`down`), and among them those whose link is connected but misses its heartbeat
    /// (`unresponsive`: stopped or stuck, for the supervisor to replace). An unresponsive link is
    /// down without waiting for a probe.
    func checkHealth(_ done: @escaping (_ down: [Int], _ unresponsive: [Int]) -> Void) {
        var remaining = links.count + 1
        var down: [Int] = []
        func finish() {
            remaining -= 1
            guard remaining == 0 else { return }
            done(down.sorted(), links.filter(\.isUnresponsive).map(\.worker))
        }
        for link in links {
            if link.isUnresponsive {
                down.append(link.worker)
                finish()
                continue
            }
            link.probe(timeoutMs: config.healthTimeoutMs) { ok in
                if !ok { down.append(link.worker) }
                finish()
            }
        }
        finish()
    }

    /// This loop's counters with the live gauges filled in.
    func snapshotCounters() -> LoopCounters {
        var c = counters
        for link in links { c.workerInFlight[link.worker] = link.inFlight }
        c.partialInputBytes = partialInput.totalBytes
        return c
    }

    /// Gathers every loop's counters (each on its own thread) and renders them, on this loop.
    func gatherMetricsText(_ done: @escaping (String) -> Void) {
        let loops = gateway.loops
        var total = LoopCounters(workers: config.workers)
        var remaining = loops.count
        for loop in loops {
            loop.eventLoop.execute { [self] in
                let c = loop.snapshotCounters()
                eventLoop.execute {
                    total.add(c)
                    remaining -= 1
                    if remaining == 0 {
                        let stats = (0..<self.config.workers).map { self.config.workerStats($0) }
                        done(MetricsRenderer.render(total, loops: loops.count,
                                                    onlineUsers: self.gateway.presence.onlineUsers, workerStats: stats))
                    }
                }
            }
        }
    }
}

/// The two encodings of a fan-out message or a reply, each built straight into the buffer the
/// output queues share (one allocation, one copy of the JSON).
enum FanOut {
    /// An unmasked, unfragmented text frame (RFC 6455 section 5.6) around `json`.
    static func textFrame(_ json: [UInt8]) -> OutboundBytes {
        let headerCount = WebSocketFrameEncoder.headerCount(payloadCount: json.count, masked: false)
        return OutboundBytes(count: headerCount + json.count) { out in
            WebSocketFrameEncoder.writeHeader(opcode: .text, payloadCount: json.count, to: out)
            json.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: out[headerCount...]).copyMemory(from: source)
            }
        }
    }

    /// `json` and a newline (an NDJSON line).
    static func line(_ json: [UInt8]) -> OutboundBytes {
        OutboundBytes(count: json.count + 1) { out in
            json.withUnsafeBytes { source in out.copyMemory(from: source) }
            out[json.count] = 0x0A
        }
    }
}
