// WorkerLink: one loop's link to one worker, on any carrier: request correlation, deadlines, heartbeat, backpressure and reconnection.
import TagarelaEventLoop
import TagarelaLink

/// What a link tells the loop that owns it (on the loop's thread).
protocol WorkerLinkDelegate: AnyObject {
    /// The worker answered `pending`.
    func link(_ link: WorkerLink, answered pending: PendingReply, with reply: LinkReply)
    /// `pending` will not be answered: the link dropped, or its deadline passed.
    func link(_ link: WorkerLink, failed pending: PendingReply)
    /// Events for this loop's connections (with no request of ours waiting for them).
    func link(_ link: WorkerLink, delivers events: [LinkEvent])
    /// An answer that came after its request was answered `unavailable` at its deadline.
    func link(_ link: WorkerLink, lateReply reply: LinkReply)
    /// Every user this loop holds a connection of: a fresh link subscribes them all first.
    func subscribedUsers() -> [String]
    /// The link (re)connected and has sent those subscriptions.
    func linkResubscribed(_ link: WorkerLink)
}

/// A client paused because a link it sent to was busy; told once the link drains.
protocol LinkWaiter: AnyObject {
    func linkDrained()
}

/// A request on its way to the worker: what to do with the answer, and when to stop waiting.
struct InFlight {
    var reply: PendingReply
    /// Past this (`Limits.workerRequestTimeoutMs` after sending) it is answered `unavailable`.
    var deadlineMs: Int64
}

/// The settings every link of a loop shares.
struct WorkerLinkSettings {
    var loopIndex: Int
    var inFlightMax: Int
    var queueBusyBytes: Int
    var requestTimeoutMs: Int64
    var heartbeatIntervalMs: Int64
    var heartbeatTimeoutMs: Int64
    var reconnectMinMs: Int64
    var reconnectMaxMs: Int64
    var log: (String) -> Void
}

/// What a link counted (the loop adds them into its `/metrics` counters when gathered).
struct WorkerLinkStats {
    /// Requests answered `unavailable` because the worker passed their deadline.
    var requestTimeouts = 0
    /// User ids sent in `subscribe` / `unsubscribe` frames.
    var subscribes = 0
    var unsubscribes = 0
}

/// The link from one gateway loop to one worker (README.md "How it is built"; its frames: TagarelaLink's `LinkFrame`).
///
/// Each loop has its own link to every worker, so replies come back to the loop that asked
/// and no lock sits on the request path. In-flight requests are bounded: past
/// `Limits.inFlightRequestsPerWorkerMax`, or with more than `Limits.linkQueueBusyBytes` unsent,
/// the link is busy and the clients feeding it stop being read until it drains (backpressure),
/// instead of queueing without bound. When the link drops, every request in flight is answered
/// `unavailable` and the link reconnects with doubling delays while the supervisor restarts
/// the worker.
///
/// A worker can also stop without the link dropping (SIGSTOP, a stuck loop): then each request
/// is answered `unavailable` at its deadline (`Limits.workerRequestTimeoutMs`), and the link
/// heartbeat (a ping every `workerHeartbeatIntervalMs`) marks the link unresponsive once a ping
/// has waited `workerHeartbeatTimeoutMs`: new requests then fail at once, `/healthz` lists the
/// worker, and the supervisor kills and restarts it. A pong makes the link trusted again.
///
/// All of this is carrier-independent: the bytes travel through a `LinkTransport`.
final class WorkerLink: LinkTransportDelegate {
    let worker: Int
    private let settings: WorkerLinkSettings
    private let transport: LinkTransport
    private unowned let eventLoop: EventLoop
    unowned let delegate: WorkerLinkDelegate
    /// Where the carrier goes (for the log).
    private let address: String
    private var pending: [UInt64: InFlight] = [:]
    /// Clients paused because this link was busy when they sent to it.
    private var waiters: [LinkWaiter] = []
    private var probes: [UInt64: (Bool) -> Void] = [:]
    /// `/metrics` asking for the worker's numbers, by nonce (see `fetchStats`).
    private var statsWaiters: [UInt64: (WorkerStats?) -> Void] = [:]
    private var nextNonce: UInt64 = 0
    private var retryDelayMs: Int64
    private var everConnected = false
    /// Connected since the last `transportClosed`.
    private var wasUp = false
    var stopped = false
    /// The heartbeat ping waiting for its pong, and when it was sent.
    private var heartbeatNonce: UInt64?
    private var heartbeatSentMs: Int64 = 0
    /// True while the connected worker leaves a heartbeat unanswered past its timeout.
    private(set) var isUnresponsive = false
    private(set) var stats = WorkerLinkStats()

    init(worker: Int, transport: LinkTransport, address: String, settings: WorkerLinkSettings,
         eventLoop: EventLoop, delegate: WorkerLinkDelegate) {
        self.worker = worker
        self.transport = transport
        self.address = address
        self.settings = settings
        self.eventLoop = eventLoop
        self.delegate = delegate
        self.retryDelayMs = settings.reconnectMinMs
        transport.delegate = self
    }

    /// Connected, and answering its heartbeat: requests may be sent.
    var isUp: Bool { transport.isConnected && !isUnresponsive }
    var isConnected: Bool { transport.isConnected }
    var inFlight: Int { pending.count }
    var queuedBytes: Int { transport.queuedBytes }

    /// True when new work should make its sender wait.
    var isBusy: Bool {
        guard transport.isConnected else { return false }
        return pending.count >= settings.inFlightMax || transport.queuedBytes >= settings.queueBusyBytes
    }

    // MARK: - Connecting

    /// Starts connecting, or schedules another attempt after the current back-off delay.
    func connect() {
        guard !stopped, !transport.isConnected else { return }
        if !transport.connect() { scheduleReconnect() }
    }

    private func scheduleReconnect() {
        guard !stopped else { return }
        let delay = retryDelayMs
        retryDelayMs = min(settings.reconnectMaxMs, retryDelayMs * 2)
        eventLoop.schedule(afterMs: delay) { [weak self] in self?.connect() }
    }

    func transportConnected() {
        wasUp = true
        heartbeatNonce = nil
        setUnresponsive(false)
        retryDelayMs = settings.reconnectMinMs
        // The worker routes events by subscription: before anything else on this link, it
        // learns every user this loop holds (a fresh or restarted worker knows none).
        sendSubscriptions(delegate.subscribedUsers(), subscribe: true)
        delegate.linkResubscribed(self)
        if everConnected || settings.loopIndex == 0 {
            settings.log("loop \(settings.loopIndex): link to worker \(worker) up (\(address))")
        }
        everConnected = true
    }

    // MARK: - Requests

    /// Sends `request`; the delegate hears of `reply` when its answer comes, or when it fails.
    /// Only while `isUp` (the caller checked): it never fails from inside this call.
    func send(_ request: LinkRequest, _ reply: PendingReply) {
        precondition(transport.isConnected, "a request sent on a link that is down")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + request.json.count + request.userID.utf8.count + request.sessionID.utf8.count)
        LinkCodec.encode(.request(request), into: &bytes)
        pending[request.requestID] = InFlight(reply: reply, deadlineMs: eventLoop.nowMs + settings.requestTimeoutMs)
        transport.send(bytes)
    }

    /// Users per subscribe frame when the whole set is sent (keeps frames far under the limit).
    static let subscribeChunk = 4096

    /// Tells the worker this loop now holds (`subscribe`) or no longer holds any connection of
    /// `users`. Written on the link before any later request, so a request of a freshly bound
    /// connection finds its user subscribed; and flushed promptly (not held by output
    /// coalescing), so by the time the client reads its login answer the subscribe is on its
    /// way. Events produced on another shard before the subscribe arrived there are missed,
    /// exactly as events produced before the bind always were; clients catch up with
    /// `after_seq` (PROTOCOL.md 3). No-op while the link is down: connecting sends the whole set.
    func sendSubscriptions(_ users: [String], subscribe: Bool) {
        guard transport.isConnected, !users.isEmpty else { return }
        var bytes: [UInt8] = []
        var start = 0
        while start < users.count {
            let end = min(users.count, start + WorkerLink.subscribeChunk)
            let part = Array(users[start..<end])
            LinkCodec.encode(subscribe ? .subscribe(part) : .unsubscribe(part), into: &bytes)
            start = end
        }
        transport.send(bytes)
        transport.flushPromptly()
        if subscribe { stats.subscribes += users.count } else { stats.unsubscribes += users.count }
    }

    /// Tells `waiter` once this link drains (it paused reading because the link was busy).
    func addWaiter(_ waiter: LinkWaiter) {
        waiters.append(waiter)
    }

    /// Resumes the waiting clients once the link is below half its in-flight bound and its
    /// queue below the busy mark (hysteresis, so clients do not flap).
    private func resumeWaitersIfDrained(force: Bool = false) {
        guard !waiters.isEmpty else { return }
        if !force && transport.isConnected {
            guard pending.count <= settings.inFlightMax / 2, transport.queuedBytes < settings.queueBusyBytes else { return }
        }
        let resumed = waiters
        waiters = []
        // What each read past the bound waited; it goes out now, and may make it wait again.
        for waiter in resumed { waiter.linkDrained() }
    }

    /// Sends a link ping and reports whether the pong came within `timeoutMs`.
    func probe(timeoutMs: Int64, _ done: @escaping (Bool) -> Void) {
        guard transport.isConnected else {
            done(false)
            return
        }
        nextNonce += 1
        let nonce = nextNonce
        probes[nonce] = done
        transport.send(LinkCodec.encoded(.ping(nonce)))
        eventLoop.schedule(afterMs: timeoutMs) { [weak self] in
            self?.probes.removeValue(forKey: nonce)?(false)
        }
    }

    /// Asks the worker for its numbers (`LinkFrame.statsRequest`); `done` gets them, or nil
    /// when the link is down or the answer did not come within `timeoutMs`.
    func fetchStats(timeoutMs: Int64, _ done: @escaping (WorkerStats?) -> Void) {
        guard isUp else { return done(nil) }
        nextNonce += 1
        let nonce = nextNonce
        statsWaiters[nonce] = done
        transport.send(LinkCodec.encoded(.statsRequest(nonce)))
        eventLoop.schedule(afterMs: timeoutMs) { [weak self] in
            self?.statsWaiters.removeValue(forKey: nonce)?(nil)
        }
    }

    // MARK: - Transport events

    func transportReceived(_ frame: LinkFrame) {
        switch frame {
        case .reply(let reply):
            if let p = pending.removeValue(forKey: reply.requestID) {
                delegate.link(self, answered: p.reply, with: reply)
            } else {
                // Answered `unavailable` at its deadline already (a stale id cannot happen on a
                // fresh link): the answer is dropped, but the change it reports did happen, so
                // its events still belong to their receivers and the sessions it ended end.
                delegate.link(self, lateReply: reply)
            }
        case .events(let events):
            delegate.link(self, delivers: events)
        case .ping(let nonce):
            transport.send(LinkCodec.encoded(.pong(nonce)))
        case .pong(let nonce):
            if nonce == heartbeatNonce {
                heartbeatNonce = nil
                setUnresponsive(false)
            } else {
                probes.removeValue(forKey: nonce)?(true)
            }
        case .stats(let stats):
            statsWaiters.removeValue(forKey: stats.nonce)?(stats)
        case .request, .subscribe, .unsubscribe, .statsRequest:
            settings.log("loop \(settings.loopIndex): worker \(worker) sent a gateway-only frame; ignored")
        }
    }

    func transportDeliveredBatch() {
        resumeWaitersIfDrained()
    }

    func transportWritable() {
        resumeWaitersIfDrained()
    }

    func transportRefusedInput(_ reason: String) {
        settings.log("loop \(settings.loopIndex): link to worker \(worker) sent a bad frame (\(reason)); reconnecting")
    }

    func transportClosed() {
        heartbeatNonce = nil
        setUnresponsive(false)
        let failed = pending.values.map(\.reply)
        pending = [:]
        let waiting = probes
        probes = [:]
        let statsWaiting = statsWaiters
        statsWaiters = [:]
        // A bus link's attempt that no worker answered closes too; only a link that was up is news.
        if !stopped && wasUp {
            settings.log("loop \(settings.loopIndex): link to worker \(worker) down; \(failed.count) requests answered unavailable")
        }
        wasUp = false
        for p in failed { delegate.link(self, failed: p) }
        for (_, done) in waiting { done(false) }
        for (_, done) in statsWaiting { done(nil) }
        resumeWaitersIfDrained(force: true)
        scheduleReconnect()
    }

    // MARK: - Deadlines and heartbeat

    /// Runs every `GatewayConfig.linkTickIntervalMs`: answers overdue requests `unavailable`,
    /// then sends the next heartbeat ping or notices the last one went unanswered too long.
    func tick(nowMs: Int64) {
        expireOverdue(nowMs: nowMs)
        guard transport.isConnected else { return }
        if heartbeatNonce != nil {
            if nowMs - heartbeatSentMs >= settings.heartbeatTimeoutMs { setUnresponsive(true) }
        } else if nowMs - heartbeatSentMs >= settings.heartbeatIntervalMs {
            nextNonce += 1
            heartbeatNonce = nextNonce
            heartbeatSentMs = nowMs
            transport.send(LinkCodec.encoded(.ping(nextNonce)))
        }
    }

    /// Answers `unavailable` to every request past its deadline and frees its in-flight slot.
    /// A scan, not a queue: the in-flight bound keeps it to a few thousand entries per tick.
    private func expireOverdue(nowMs: Int64) {
        guard !pending.isEmpty else { return }
        let overdue = pending.filter { $0.value.deadlineMs <= nowMs }
        guard !overdue.isEmpty else { return }
        for id in overdue.keys { pending[id] = nil }
        stats.requestTimeouts += overdue.count
        settings.log("loop \(settings.loopIndex): worker \(worker) did not answer \(overdue.count) requests within "
                     + "\(settings.requestTimeoutMs) ms; answered unavailable")
        // In sending order, so a connection's answers keep the order of its requests.
        for (_, p) in overdue.sorted(by: { $0.key < $1.key }) { delegate.link(self, failed: p.reply) }
        resumeWaitersIfDrained()
    }

    private func setUnresponsive(_ value: Bool) {
        guard value != isUnresponsive else { return }
        isUnresponsive = value
        guard transport.isConnected else { return }
        settings.log(value
            ? "loop \(settings.loopIndex): worker \(worker) has not answered a heartbeat in \(settings.heartbeatTimeoutMs) ms; "
                + "unresponsive, new requests answered unavailable"
            : "loop \(settings.loopIndex): worker \(worker) answers its heartbeat again")
    }
}
