// WorkerLink: one loop's connection to one worker: request correlation, bounded in-flight work, backpressure and reconnection.
import TagarelaEventLoop
import TagarelaLink
import TagarelaSystem

/// What to do with a worker's reply (nil reply: the link dropped before it came).
enum PendingReply {
    /// A client request forwarded as is: the reply goes back to the client.
    case client(ClientConnection, RequestLabel)
    /// A step of a multi-shard plan (existence check, scatter part).
    case step((LinkReply?) -> Void)
}

/// A request on its way to the worker: what to do with the answer, and when to stop waiting.
struct InFlight {
    var reply: PendingReply
    /// Past this (`Limits.workerRequestTimeoutMs` after sending) it is answered `unavailable`.
    var deadlineMs: Int64
}

/// The `type` and `request_id` an answer must carry (PROTOCOL.md 2).
struct RequestLabel {
    var type: String
    var requestID: String?
}

/// The link from one gateway loop to one worker (README.md "How it is built"; its frames: TagarelaLink's `LinkFrame`).
///
/// Each loop has its own link to every worker, so replies come back to the loop that asked
/// and no lock sits on the request path. In-flight requests are bounded: past
/// `Limits.inFlightRequestsPerWorkerMax`, or with more than `queueHighWaterBytes` unsent,
/// the clients feeding this link stop being read until it drains (backpressure), instead of
/// queueing without bound. When the link drops, every request in flight is answered
/// `unavailable` and the link reconnects with doubling delays while the supervisor restarts
/// the worker.
///
/// A worker can also stop without the link dropping (SIGSTOP, a stuck loop): then each request
/// is answered `unavailable` at its deadline (`Limits.workerRequestTimeoutMs`), and the link
/// heartbeat (a ping every `workerHeartbeatIntervalMs`) marks the link unresponsive once a ping
/// has waited `workerHeartbeatTimeoutMs`: new requests then fail at once, `/healthz` lists the
/// worker, and the supervisor kills and restarts it. A pong makes the link trusted again.
final class WorkerLink: ChannelHandler {
    /// Unsent bytes past which the link counts as busy: a few hundred typical requests, well
    /// under the channel's own bound (which would close the link).
    static let queueHighWaterBytes = 4 << 20

    unowned let loop: GatewayLoop
    let worker: Int
    let path: String
    private(set) var channel: Channel?
    private var decoder: LinkDecoder
    private var pending: [UInt64: InFlight] = [:]
    /// Clients paused because this link was busy when they sent to it.
    private var waiters: [ClientConnection] = []
    private var probes: [UInt64: (Bool) -> Void] = [:]
    private var nextNonce: UInt64 = 0
    private var retryDelayMs: Int64
    private var everConnected = false
    var stopped = false
    /// The heartbeat ping waiting for its pong, and when it was sent.
    private var heartbeatNonce: UInt64?
    private var heartbeatSentMs: Int64 = 0
    /// True while the connected worker leaves a heartbeat unanswered past its timeout.
    private(set) var isUnresponsive = false

    init(loop: GatewayLoop, worker: Int, path: String) {
        self.loop = loop
        self.worker = worker
        self.path = path
        self.decoder = LinkDecoder(maxFrameBytes: loop.config.limits.linkFrameBytesMax)
        self.retryDelayMs = loop.config.linkReconnectMinMs
    }

    /// Connected, and answering its heartbeat: requests may be sent.
    var isUp: Bool { channel != nil && !isUnresponsive }
    var inFlight: Int { pending.count }

    /// True when new work should make its sender wait.
    var isBusy: Bool {
        guard let channel = channel else { return false }
        return pending.count >= loop.config.limits.inFlightRequestsPerWorkerMax
            || channel.queuedBytes >= WorkerLink.queueHighWaterBytes
    }

    // MARK: - Connecting

    /// Connects now, or schedules another attempt after the current back-off delay.
    func connect() {
        guard !stopped, channel == nil else { return }
        do {
            let fd = try Socket.connectUnix(path: path)
            decoder = LinkDecoder(maxFrameBytes: loop.config.limits.linkFrameBytesMax)
            // The link's own bound is far above the busy mark: reaching it means the worker is
            // wedged, and closing the link (answering `unavailable`) is then the right call.
            let ch = loop.eventLoop.register(fd: fd, handler: self, maxQueuedBytes: 64 << 20)
            channel = ch
            heartbeatNonce = nil
            setUnresponsive(false)
            retryDelayMs = loop.config.linkReconnectMinMs
            // The worker routes events by subscription: before anything else on this link, it
            // learns every user this loop holds (a fresh or restarted worker knows none).
            sendSubscriptions(Array(loop.byUser.keys), subscribe: true)
            loop.counters.workerLinkUp[worker] = 1
            if everConnected || loop.index == 0 {
                loop.config.log("loop \(loop.index): link to worker \(worker) up (\(path))")
            }
            everConnected = true
        } catch {
            scheduleReconnect()
        }
    }

    private func scheduleReconnect() {
        guard !stopped else { return }
        let delay = retryDelayMs
        retryDelayMs = min(loop.config.linkReconnectMaxMs, retryDelayMs * 2)
        loop.eventLoop.schedule(afterMs: delay) { [weak self] in self?.connect() }
    }

    // MARK: - Requests

    /// Sends `request`; `reply` runs when its answer comes, or with nil if the link drops.
    /// The caller checked `isUp`.
    func send(_ request: LinkRequest, _ reply: PendingReply) {
        guard let channel = channel else {
            fail(reply)
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + request.json.count + request.userID.utf8.count + request.sessionID.utf8.count)
        LinkCodec.encode(.request(request), into: &bytes)
        pending[request.requestID] = InFlight(reply: reply,
                                              deadlineMs: loop.eventLoop.nowMs + loop.config.limits.workerRequestTimeoutMs)
        channel.write(bytes)
    }

    /// Users per subscribe frame when the whole set is sent (keeps frames far under the limit).
    static let subscribeChunk = 4096

    /// Tells the worker this loop now holds (`subscribe`) or no longer holds any connection of
    /// `users`. Written on the link before any later request, so a request of a freshly bound
    /// connection finds its user subscribed; and flushed promptly (not held by output
    /// coalescing), so by the time the client reads its login answer the subscribe is on its
    /// way. Events produced on another shard before the subscribe arrived there are missed,
    /// exactly as events produced before the bind always were; clients catch up with
    /// `after_seq` (PROTOCOL.md 3). No-op while the link is down: `connect` sends the whole set.
    func sendSubscriptions(_ users: [String], subscribe: Bool) {
        guard let channel = channel, !users.isEmpty else { return }
        var bytes: [UInt8] = []
        var start = 0
        while start < users.count {
            let end = min(users.count, start + WorkerLink.subscribeChunk)
            let part = Array(users[start..<end])
            LinkCodec.encode(subscribe ? .subscribe(part) : .unsubscribe(part), into: &bytes)
            start = end
        }
        channel.write(bytes)
        channel.flushPromptly()
        if subscribe { loop.counters.linkSubscribes += users.count } else { loop.counters.linkUnsubscribes += users.count }
    }

    /// Pauses `client` until this link drains.
    func park(_ client: ClientConnection) {
        guard !client.pausedForLink, !client.isClosed else { return }
        client.pausedForLink = true
        client.channel.pauseReading()
        waiters.append(client)
        loop.counters.backpressurePauses += 1
    }

    /// Resumes the parked clients once the link is below half its in-flight bound and its
    /// queue below the high-water mark (hysteresis, so clients do not flap).
    private func resumeWaitersIfDrained(force: Bool = false) {
        guard !waiters.isEmpty else { return }
        if !force, let channel = channel {
            guard pending.count <= loop.config.limits.inFlightRequestsPerWorkerMax / 2,
                  channel.queuedBytes < WorkerLink.queueHighWaterBytes else { return }
        }
        let resumed = waiters
        waiters = []
        for client in resumed where client.pausedForLink {
            client.pausedForLink = false
            // What it read past the bound waited; it goes out now, and may park it again.
            if !client.isClosed { loop.releaseHeld(client) }
        }
    }

    /// Sends a link ping and reports whether the pong came within `timeoutMs`.
    func probe(timeoutMs: Int64, _ done: @escaping (Bool) -> Void) {
        guard let channel = channel else {
            done(false)
            return
        }
        nextNonce += 1
        let nonce = nextNonce
        probes[nonce] = done
        channel.write(LinkCodec.encoded(.ping(nonce)))
        loop.eventLoop.schedule(afterMs: timeoutMs) { [weak self] in
            self?.probes.removeValue(forKey: nonce)?(false)
        }
    }

    // MARK: - Channel events

    func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
        do {
            try decoder.feed(UnsafeRawBufferPointer(bytes)) { frame in handle(frame) }
        } catch {
            loop.config.log("loop \(loop.index): link to worker \(worker) sent a bad frame (\(error)); reconnecting")
            channel.close()
        }
        resumeWaitersIfDrained()
    }

    private func handle(_ frame: LinkFrame) {
        switch frame {
        case .reply(let reply):
            if let p = pending.removeValue(forKey: reply.requestID) {
                loop.complete(p.reply, reply)
            } else {
                // Answered `unavailable` at its deadline already (a stale id cannot happen on a
                // fresh link): the answer is dropped, but the change it reports did happen, so
                // its events still belong to their receivers.
                loop.deliver(reply.events)
            }
        case .events(let events):
            loop.deliver(events)
        case .ping(let nonce):
            channel?.write(LinkCodec.encoded(.pong(nonce)))
        case .pong(let nonce):
            if nonce == heartbeatNonce {
                heartbeatNonce = nil
                setUnresponsive(false)
            } else {
                probes.removeValue(forKey: nonce)?(true)
            }
        case .request, .subscribe, .unsubscribe:
            loop.config.log("loop \(loop.index): worker \(worker) sent a gateway-only frame; ignored")
        }
    }

    func channelWritable(_ channel: Channel) {
        resumeWaitersIfDrained()
    }

    func channelClosed(_ channel: Channel) {
        self.channel = nil
        heartbeatNonce = nil
        setUnresponsive(false)
        loop.counters.workerLinkUp[worker] = 0
        let failed = pending.values.map(\.reply)
        pending = [:]
        let waiting = probes
        probes = [:]
        if !stopped {
            loop.config.log("loop \(loop.index): link to worker \(worker) down; \(failed.count) requests answered unavailable")
        }
        for p in failed { fail(p) }
        for (_, done) in waiting { done(false) }
        resumeWaitersIfDrained(force: true)
        scheduleReconnect()
    }

    private func fail(_ p: PendingReply) {
        loop.fail(p)
    }

    // MARK: - Deadlines and heartbeat

    /// Runs every `GatewayConfig.linkTickIntervalMs`: answers overdue requests `unavailable`,
    /// then sends the next heartbeat ping or notices the last one went unanswered too long.
    func tick(nowMs: Int64) {
        expireOverdue(nowMs: nowMs)
        guard let channel = channel else { return }
        if heartbeatNonce != nil {
            if nowMs - heartbeatSentMs >= loop.config.limits.workerHeartbeatTimeoutMs { setUnresponsive(true) }
        } else if nowMs - heartbeatSentMs >= loop.config.limits.workerHeartbeatIntervalMs {
            nextNonce += 1
            heartbeatNonce = nextNonce
            heartbeatSentMs = nowMs
            channel.write(LinkCodec.encoded(.ping(nextNonce)))
        }
    }

    /// Answers `unavailable` to every request past its deadline and frees its in-flight slot.
    /// A scan, not a queue: the in-flight bound keeps it to a few thousand entries per tick.
    private func expireOverdue(nowMs: Int64) {
        guard !pending.isEmpty else { return }
        let overdue = pending.filter { $0.value.deadlineMs <= nowMs }
        guard !overdue.isEmpty else { return }
        for id in overdue.keys { pending[id] = nil }
        loop.counters.workerRequestTimeouts[worker] += overdue.count
        loop.config.log("loop \(loop.index): worker \(worker) did not answer \(overdue.count) requests within "
                        + "\(loop.config.limits.workerRequestTimeoutMs) ms; answered unavailable")
        // In sending order, so a connection's answers keep the order of its requests.
        for (_, p) in overdue.sorted(by: { $0.key < $1.key }) { fail(p.reply) }
        resumeWaitersIfDrained()
    }

    private func setUnresponsive(_ value: Bool) {
        guard value != isUnresponsive else { return }
        isUnresponsive = value
        loop.counters.workerLinkUnresponsive[worker] = value ? 1 : 0
        guard channel != nil else { return }
        loop.config.log(value
            ? "loop \(loop.index): worker \(worker) has not answered a heartbeat in \(loop.config.limits.workerHeartbeatTimeoutMs) ms; "
                + "unresponsive, new requests answered unavailable"
            : "loop \(loop.index): worker \(worker) answers its heartbeat again")
    }
}
