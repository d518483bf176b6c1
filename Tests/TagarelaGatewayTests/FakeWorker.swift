// FakeWorker: a tiny in-process link server for the gateway's loopback tests, answering with canned replies.
import Foundation
import TagarelaEventLoop
import TagarelaLink
import TagarelaModel
import TagarelaSystem

/// A worker stand-in on its own event-loop thread: it accepts any number of gateway links on
/// a Unix socket, answers link pings, and hands each request to `respond`, whose reply (if any)
/// goes back on the link the request came from. `broadcast` events go on every link.
final class FakeWorker {
    /// Decides the reply to a request (runs on the fake's thread); nil keeps it unanswered.
    typealias Responder = (LinkRequest) -> LinkReply?

    let path: String
    private let loop: EventLoop
    private let listenFD: Int32
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _requests: [LinkRequest] = []
    /// Per link: the users its gateway loop subscribed (subscribe/unsubscribe frames), under `lock`.
    private var _subscribed: [ObjectIdentifier: Set<String>] = [:]
    private var links: [Channel] = []
    private var respond: Responder
    /// Requests the responder left unanswered, with the link each came on (fake's thread only).
    private var unanswered: [(request: LinkRequest, channel: Channel)] = []
    /// Links accepted while reading is paused start paused too (fake's thread only).
    private var readingPaused = false
    private var stopped = false
    /// Stats requests received (all links), under `lock`.
    private var _statsRequests = 0
    /// How this fake answers the gateway's `SessionCheck`s (kept apart from `requests`).
    enum SessionChecks { case live, gone, unanswered }
    private var _sessionChecks = SessionChecks.live
    /// Session checks received, and per link the subscribes and checks in arrival order, under `lock`.
    private var _checks: [LinkRequest] = []
    private var _linkOrder: [ObjectIdentifier: [String]] = [:]

    init(path: String, respond: @escaping Responder) throws {
        self.path = path
        self.respond = respond
        loop = try EventLoop()
        listenFD = try Socket.listenUnix(path: path)
        let thread = Thread { [self] in
            loop.addListener(fd: listenFD) { [self] fd, _ in
                let handler = LinkHandler(worker: self)
                // Far above the replies any test queues on a link it has not paused.
                let channel = loop.register(fd: fd, handler: handler, maxQueuedBytes: 8 << 20)
                if readingPaused { channel.pauseReading() }
                links.append(channel)
            }
            loop.run()
            done.signal()
        }
        thread.start()
    }

    /// How the next session checks are answered.
    func answerSessionChecks(_ mode: SessionChecks) {
        lock.lock(); _sessionChecks = mode; lock.unlock()
    }

    /// The session checks received so far.
    var sessionChecks: [LinkRequest] {
        lock.lock(); defer { lock.unlock() }
        return _checks
    }

    /// Per link that sent any: "subscribe U" and "check U" in the order they arrived.
    var linkOrders: [[String]] {
        lock.lock(); defer { lock.unlock() }
        return Array(_linkOrder.values)
    }

    /// Every request received so far, in arrival order.
    /// How many stats requests (`/metrics` gatherings) this fake was asked.
    var statsRequests: Int {
        lock.lock()
        defer { lock.unlock() }
        return _statsRequests
    }

    fileprivate func countStatsRequest() {
        lock.lock()
        _statsRequests += 1
        lock.unlock()
    }

    var requests: [LinkRequest] {
        lock.lock()
        defer { lock.unlock() }
        return _requests
    }

    /// Replaces the responder.
    func setResponder(_ r: @escaping Responder) {
        loop.execute { self.respond = r }
    }

    /// Number of gateway links currently connected (read on the fake's thread).
    func linkCount() -> Int {
        let sem = DispatchSemaphore(value: 0)
        var n = 0
        loop.execute {
            n = self.links.filter { !$0.isClosed }.count
            sem.signal()
        }
        sem.wait()
        return n
    }

    /// Runs `body` on the fake's thread and waits for it.
    private func onLoop<T>(_ body: @escaping () -> T) -> T {
        let sem = DispatchSemaphore(value: 0)
        var result: T? = nil
        loop.execute {
            result = body()
            sem.signal()
        }
        sem.wait()
        return result!
    }

    /// Answers every request left unanswered so far with `responder` (the current responder when
    /// nil), on the link it came from; those it still leaves unanswered stay pending. Returns how
    /// many were answered.
    @discardableResult
    func answerUnanswered(with responder: Responder? = nil) -> Int {
        onLoop {
            let waiting = self.unanswered
            self.unanswered = []
            var answered = 0
            for (request, channel) in waiting {
                if let reply = (responder ?? self.respond)(request) {
                    channel.write(LinkCodec.encoded(.reply(reply)))
                    answered += 1
                } else {
                    self.unanswered.append((request, channel))
                }
            }
            return answered
        }
    }

    /// Requests received and not answered yet.
    func unansweredCount() -> Int {
        onLoop { self.unanswered.count }
    }

    /// Stops (true) or resumes (false) reading every link: a wedged worker whose socket fills up.
    func setReadingPaused(_ paused: Bool) {
        onLoop {
            self.readingPaused = paused
            for link in self.links where !link.isClosed {
                if paused { link.pauseReading() } else { link.resumeReading() }
            }
        }
    }

    /// How many links (gateway loops) currently subscribe to `user`.
    func linksSubscribed(to user: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return _subscribed.values.filter { $0.contains(user) }.count
    }

    fileprivate func subscription(_ users: [String], on channel: Channel, subscribe: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let key = ObjectIdentifier(channel)
        for user in users {
            if subscribe { _linkOrder[key, default: []].append("subscribe \(user)") }
            if subscribe { _subscribed[key, default: []].insert(user) } else { _subscribed[key]?.remove(user) }
        }
    }

    /// Closes every link (the gateway then sees the worker as down until it reconnects).
    func dropLinks() {
        let sem = DispatchSemaphore(value: 0)
        loop.execute {
            for link in self.links { link.close() }
            self.links = []
            self.lock.lock()
            self._subscribed = [:]
            self.lock.unlock()
            sem.signal()
        }
        sem.wait()
    }

    /// Stops the fake: links closed, socket removed.
    func stop() {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        guard first else { return }
        loop.execute { self.loop.removeListener(fd: self.listenFD) }
        loop.stop()
        done.wait()
        FileDescriptor.close(listenFD)
        unlink(path)
    }

    fileprivate func received(_ request: LinkRequest, on channel: Channel) {
        lock.lock()
        if request.isInternal && request.arg == SessionCheck.arg {
            _checks.append(request)
            _linkOrder[ObjectIdentifier(channel), default: []].append("check \(request.userID)")
            let mode = _sessionChecks
            lock.unlock()
            switch mode {
            case .live, .gone:
                let reply = LinkReply(requestID: request.requestID, json: SessionCheck.answer(live: mode == .live))
                channel.write(LinkCodec.encoded(.reply(reply)))
            case .unanswered:
                break  // answered `unavailable` by the gateway when its link drops or its deadline passes
            }
            return
        }
        _requests.append(request)
        lock.unlock()
        guard let reply = respond(request) else {
            unanswered.append((request, channel))
            return
        }
        channel.write(LinkCodec.encoded(.reply(reply)))
        // Events go to every other link as an events frame (each gateway loop delivers to its own).
        if !reply.events.isEmpty {
            for other in links where other !== channel && !other.isClosed {
                other.write(LinkCodec.encoded(.events(reply.events)))
            }
        }
    }

    private final class LinkHandler: ChannelHandler {
        unowned let worker: FakeWorker
        var decoder = LinkDecoder(maxFrameBytes: 1 << 24)
        init(worker: FakeWorker) { self.worker = worker }

        func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
            var frames: [LinkFrame] = []
            do {
                try decoder.feed(UnsafeRawBufferPointer(bytes)) { frames.append($0) }
            } catch {
                channel.close()
                return
            }
            for frame in frames {
                switch frame {
                case .request(let r): worker.received(r, on: channel)
                case .ping(let n): channel.write(LinkCodec.encoded(.pong(n)))
                case .subscribe(let users): worker.subscription(users, on: channel, subscribe: true)
                case .unsubscribe(let users): worker.subscription(users, on: channel, subscribe: false)
                case .statsRequest(let n):
                    worker.countStatsRequest()
                    channel.write(LinkCodec.encoded(.stats(FakeWorker.stats(nonce: n))))
                default: break
                }
            }
        }

        func channelClosed(_ channel: Channel) {}
    }
}

/// Canned replies.
enum Canned {
    /// `{"type":T,"request_id":R,"status":"ok"}` plus `extra` (already-encoded members, no braces).
    static func ok(_ request: LinkRequest, extra: String = "") -> [UInt8] {
        let text = String(decoding: request.json, as: UTF8.self)
        let type = field("type", in: text) ?? "error"
        var out = "{\"type\":\"\(type)\""
        if let rid = field("request_id", in: text) { out += ",\"request_id\":\"\(rid)\"" }
        out += ",\"status\":\"ok\""
        if !extra.isEmpty { out += "," + extra }
        return Array((out + "}").utf8)
    }

    /// A crude string-field reader for the tests' own simple JSON.
    static func field(_ name: String, in text: String) -> String? {
        guard let r = text.range(of: "\"\(name)\":\"") else { return nil }
        let rest = text[r.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}

extension FakeWorker {
    /// What a fake worker answers a stats request with: a few known numbers, so `/metrics` tests
    /// can find them under the worker's `shard` label.
    static func stats(nonce: UInt64) -> WorkerStats {
        var commit = Histogram(bounds: HistogramBuckets.diskNs)
        commit.observe(30_000, times: 2)
        return WorkerStats(nonce: nonce, values: [.init(WorkerStats.Name.users, 7), .init(WorkerStats.Name.starts, 2)],
                           histograms: [.init(WorkerStats.Name.commitSeconds, commit)])
    }
}
