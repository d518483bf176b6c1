// NATSConnection: one client connection on an event loop: connect, handshake, subscriptions, publishes, PING/PONG, reconnect.
import TagarelaEventLoop
import TagarelaJSON
import TagarelaSystem

/// A NATS client connection living on one `EventLoop`. Every method must be called on that
/// loop's thread, and every callback arrives there. It never blocks the loop: the TCP connect
/// is non-blocking and the socket is a channel of the loop like any other.
///
/// Output is gathered for the turn and written at once (one `writev` for many PUBs) in a
/// before-sleep hook. While disconnected, publishes wait in a bounded buffer and are sent after
/// the next handshake, behind the re-sent subscriptions; the connection tries the servers in
/// turn, forever, until `close()`.
///
/// Authentication: a token (`NATSOptions.token` or `nats://TOKEN@host:port`) or a user and
/// password (`nats://USER:PASS@host:port`); a refused one is reported through `onError` and the
/// connection never counts as connected. No TLS: a `tls://` URL, or a server whose INFO says
/// `tls_required`, is refused with `NATSServerURL.tlsRefusal` -- terminate TLS in front of the
/// server (a local TLS proxy) or keep NATS on loopback or a private network.
public final class NATSConnection: ChannelHandler {
    public let loop: EventLoop
    public var onStateChange: ((NATSConnectionState) -> Void)?
    /// Server `-ERR` texts, refused credentials, refused URLs and dropped connections, as text.
    public var onError: ((String) -> Void)?
    /// The socket's queue drained below its low-water mark after passing it (see
    /// `Channel.lowWaterMark`): a producer that paused on `queuedBytes` may resume.
    public var onWritable: (() -> Void)?

    private let options: NATSOptions
    private var servers: [NATSServerURL]
    private var serverIndex = -1
    private var channel: Channel?
    private var parser = NATSParser()
    private var phase = Phase.idle
    /// This turn's output while connected; written by the before-sleep hook.
    var out: [UInt8] = []
    /// Publishes made while not connected, sent after the next handshake.
    private var pendingOut: [UInt8] = []
    private var subscriptions: [UInt64: Subscription] = [:]
    private var nextSID: UInt64 = 0
    private var pingsOut = 0
    private var pingTimer: TimerHandle?
    private var handshakeTimer: TimerHandle?
    private var reconnectTimer: TimerHandle?
    private var serverPayloadBytesMax = NATSLimits.payloadBytesDefault
    /// Servers whose failed attempts were reported since the last successful handshake.
    private var reportedUnreachable: Set<String> = []
    var requests = RequestTable()
    var flushes = FlushTable()

    enum Phase: Equatable {
        case idle
        case awaitingInfo(NATSServerURL)
        case awaitingPong(NATSServerURL)
        case connected(NATSServerURL)
        case waiting
        case closed
    }

    private struct Subscription {
        let subject: String
        let queue: String?
        let handler: (NATSMessage) -> Void
    }

    /// Create it on the loop's thread (or before the loop runs): it adds a before-sleep hook.
    public init(loop: EventLoop, options: NATSOptions) {
        self.loop = loop
        self.options = options
        self.servers = options.servers
        loop.addBeforeSleep { [weak self] in self?.flushTurn() }
    }

    /// Starts connecting (to the first server now, then in turn). Call once.
    public func start() {
        precondition(phase == .idle, "start() called twice")
        if servers.isEmpty {
            enterClosed("no NATS server to connect to")
            return
        }
        onStateChange?(.connecting)
        attemptConnect()
    }

    /// True between a completed handshake and the loss of the connection.
    public var isConnected: Bool {
        if case .connected = phase { return true }
        return false
    }

    /// Bytes accepted but not yet taken by the kernel (pending while disconnected included):
    /// what a producer watches for backpressure.
    public var queuedBytes: Int { (channel?.queuedBytes ?? 0) + out.count + pendingOut.count }

    /// `nats://host:port` of the server while connected (for status reports), else nil.
    public var connectedServer: String? {
        if case .connected(let server) = phase { return server.description }
        return nil
    }

    /// The largest body (headers and payload) the server accepts (its INFO `max_payload`).
    public var maxPayloadBytes: Int { serverPayloadBytesMax }

    /// Subscribes `handler` to `subject` (wildcards allowed), in queue group `queue` if given.
    /// Subscriptions are sent again after every reconnect.
    @discardableResult
    public func subscribe(_ subject: String, queue: String? = nil, _ handler: @escaping (NATSMessage) -> Void) -> NATSSubscriptionID {
        nextSID += 1
        // After close() (a shutdown racing a late subscriber) nothing is recorded or sent.
        if phase == .closed { return NATSSubscriptionID(sid: nextSID) }
        subscriptions[nextSID] = Subscription(subject: subject, queue: queue, handler: handler)
        var encoded: [UInt8] = []
        NATSEncoder.subscribe(subject, queue: queue, sid: nextSID, into: &encoded)  // validates now
        if isConnected { out.append(contentsOf: encoded) }
        return NATSSubscriptionID(sid: nextSID)
    }

    /// Ends a subscription; messages already read for it are not delivered.
    public func unsubscribe(_ id: NATSSubscriptionID) {
        guard subscriptions.removeValue(forKey: id.sid) != nil else { return }
        if isConnected { NATSEncoder.unsubscribe(sid: id.sid, into: &out) }
    }

    /// Publishes `payload` (with `headers`, as HPUB, if any). False when it was dropped: over the
    /// server's `max_payload`, or disconnected with `pendingBytesMax` already held, or closed.
    @discardableResult
    public func publish(_ subject: String, reply: String? = nil, headers: [(String, String)] = [], payload: [UInt8]) -> Bool {
        if phase == .closed { return false }
        if NATSEncoder.bodyBytes(headers: headers, payloadBytes: payload.count) > serverPayloadBytesMax { return false }
        if isConnected {
            NATSEncoder.publish(subject, reply: reply, headers: headers, payload: payload, into: &out)
            return true
        }
        var encoded: [UInt8] = []
        NATSEncoder.publish(subject, reply: reply, headers: headers, payload: payload, into: &encoded)
        if pendingOut.count + encoded.count > options.pendingBytesMax { return false }
        pendingOut.append(contentsOf: encoded)
        return true
    }

    /// Closes for good: queued output is flushed, waiting requests fail with `.closed`.
    public func close() {
        if phase == .closed { return }
        flushTurn()
        channel?.closeAfterFlush()
        channel = nil
        enterClosed("closed by the application")
    }

    // MARK: - Connecting

    private func attemptConnect() {
        reconnectTimer = nil
        guard phase != .closed else { return }
        serverIndex = (serverIndex + 1) % servers.count
        let server = servers[serverIndex]
        let fd: Int32
        do {
            fd = try Socket.connectTCP(host: server.host, port: server.port)
        } catch {
            connectionLost("cannot connect to \(server): \(error)", failedAttempt: server)
            return
        }
        try? Socket.setNoDelay(fd)
        // The parser starts at the default bound until this server's INFO; `maxPayloadBytes`
        // keeps the last server's figure meanwhile (a cluster's servers share their settings).
        parser = NATSParser()
        phase = .awaitingInfo(server)
        channel = loop.register(fd: fd, handler: self, maxQueuedBytes: NATSLimits.socketQueuedBytesMax)
        handshakeTimer = loop.schedule(afterMs: NATSLimits.handshakeTimeoutMs) { [weak self] in
            guard let self, let channel = self.channel else { return }
            self.onError?("NATS server \(server) did not complete the handshake within \(NATSLimits.handshakeTimeoutMs) ms")
            channel.close()
        }
    }

    /// After a lost connection or a failed attempt: `.connecting`, and the next server later.
    /// `failedAttempt`: the server an attempt failed on. Each server's failure is reported once
    /// per outage (retries every `reconnectDelayMs` would otherwise flood the caller's log).
    private func connectionLost(_ why: String?, failedAttempt: NATSServerURL? = nil) {
        var why = why
        if let failed = failedAttempt, !reportedUnreachable.insert(failed.description).inserted { why = nil }
        let wasConnected = isConnected
        channel = nil
        pingTimer?.cancel()
        pingTimer = nil
        handshakeTimer?.cancel()
        handshakeTimer = nil
        if phase == .closed { return }
        phase = .waiting
        out.removeAll()  // what was not written is lost with the connection, as on any socket
        flushes.connectionLost()
        if let why { onError?(why) }
        if wasConnected { onStateChange?(.connecting) }
        reconnectTimer = loop.schedule(afterMs: options.reconnectDelayMs) { [weak self] in self?.attemptConnect() }
    }

    private func enterClosed(_ reason: String) {
        phase = .closed
        for timer in [pingTimer, handshakeTimer, reconnectTimer] { timer?.cancel() }
        out = []
        pendingOut = []
        subscriptions = [:]
        requests.failAll(.closed)
        flushes.failAll()
        onStateChange?(.closed(reason: reason))
    }

    private func flushTurn() {
        guard !out.isEmpty, let channel else { return }
        channel.write(out)
        out.removeAll(keepingCapacity: out.capacity <= 256 * 1024)
    }

    // MARK: - Channel events

    public func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
        guard channel === self.channel else { return }
        // Operations are gathered first and handled after the parser returns: a handler may
        // change the parser (INFO sets its payload bound), which must not happen inside its feed.
        var ops: [NATSServerOp] = []
        var failure: NATSProtocolError?
        do {
            try parser.feed(UnsafeRawBufferPointer(bytes)) { ops.append($0) }
        } catch {
            failure = error
        }
        for op in ops { handle(op, on: channel) }
        if let failure, channel === self.channel {
            onError?("NATS protocol error from \(currentServer.map(String.init(describing:)) ?? "server"): \(failure)")
            channel.close()
        }
    }

    public func channelWritable(_ channel: Channel) {
        if channel === self.channel { onWritable?() }
    }

    public func channelClosed(_ channel: Channel) {
        guard channel === self.channel else { return }
        let server = currentServer.map(String.init(describing:)) ?? "NATS server"
        if isConnected {
            connectionLost("connection to \(server) lost")
        } else {
            connectionLost("could not connect to \(server)", failedAttempt: currentServer)
        }
    }

    private var currentServer: NATSServerURL? {
        switch phase {
        case .awaitingInfo(let s), .awaitingPong(let s), .connected(let s): return s
        default: return nil
        }
    }

    private func handle(_ op: NATSServerOp, on channel: Channel) {
        guard channel === self.channel else { return }
        switch op {
        case .info(let info): handleInfo(info, on: channel)
        case .ping: NATSEncoder.pong(into: &out)
        case .pong: handlePong()
        case .ok: break
        case .err(let text): handleErr(text)
        case .msg(let sid, let message): subscriptions[sid]?.handler(message)
        }
    }

    private func handleInfo(_ info: JSON, on channel: Channel) {
        if let max = info["max_payload"]?.int, max > 0 {
            serverPayloadBytesMax = min(Int(max), NATSLimits.payloadBytesCeiling)
            parser.payloadBytesMax = serverPayloadBytesMax
        }
        for case let text? in info["connect_urls"]?.array?.map({ $0.string }) ?? [] {
            guard let url = try? NATSServerURL.parse(text), !servers.contains(where: { $0.sameServer(as: url) }) else { continue }
            servers.append(url)
        }
        guard case .awaitingInfo(let server) = phase else { return }  // an update while connected
        if info["tls_required"]?.bool == true {
            onError?("NATS server \(server) requires TLS. " + NATSServerURL.tlsRefusal)
            servers.removeAll { $0.sameServer(as: server) }
            serverIndex = -1
            if servers.isEmpty {
                channel.close()
                self.channel = nil
                enterClosed("every NATS server requires TLS. " + NATSServerURL.tlsRefusal)
            } else {
                channel.close()
            }
            return
        }
        phase = .awaitingPong(server)
        NATSEncoder.connect(name: options.name, token: server.token ?? options.token,
                            user: server.user ?? options.user, password: server.password ?? options.password, into: &out)
        NATSEncoder.ping(into: &out)
        flushTurn()
    }

    private func handlePong() {
        pingsOut = 0
        guard case .awaitingPong(let server) = phase else {
            flushes.pongArrived()
            return
        }
        handshakeTimer?.cancel()
        handshakeTimer = nil
        phase = .connected(server)
        reportedUnreachable = []
        for (sid, sub) in subscriptions.sorted(by: { $0.key < $1.key }) {
            NATSEncoder.subscribe(sub.subject, queue: sub.queue, sid: sid, into: &out)
        }
        out.append(contentsOf: pendingOut)
        pendingOut = []
        for id in flushes.takeAfterConnect() { sendFlushPing(id) }
        schedulePing()
        onStateChange?(.connected(serverURL: server.description))
    }

    private func handleErr(_ text: String) {
        let server = currentServer.map(String.init(describing:)) ?? "NATS server"
        if text.lowercased().contains("authorization") || text.lowercased().contains("authentication") {
            // Refused at every attempt until the operator fixes it: said once per outage.
            // The close that follows is not reported again as "could not connect": the refusal
            // stays the last word a caller sees.
            if let current = currentServer { reportedUnreachable.insert(current.description) }
            guard reportedUnreachable.insert("credentials \(server)").inserted else { return }
            onError?("NATS server \(server) refused our credentials ('\(text)'): check the token or user and password")
        } else {
            onError?("NATS server \(server): -ERR '\(text)'")
        }
        // The server closes the connection after every -ERR but a few (permissions, invalid
        // subject); the close, when it comes, reconnects.
    }

    private func schedulePing() {
        pingTimer = loop.schedule(afterMs: options.pingIntervalMs) { [weak self] in
            guard let self, self.isConnected, let channel = self.channel else { return }
            if self.pingsOut >= self.options.maxPingsOut {
                self.onError?("NATS server \(self.currentServer!) did not answer \(self.pingsOut) PINGs: reconnecting")
                channel.close()
                return
            }
            self.pingsOut += 1
            NATSEncoder.ping(into: &self.out)
            self.flushes.inFlight.append(nil)
            self.schedulePing()
        }
    }
}
