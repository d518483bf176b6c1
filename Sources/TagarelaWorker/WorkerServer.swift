// WorkerServer: serves the gateway's links for one shard, applying requests to the engine and releasing replies only once their journal records are durable.
import Foundation
import TagarelaEventLoop
import TagarelaLink
import TagarelaShard
import TagarelaStore
import TagarelaSystem

/// One worker: a single-threaded event loop that owns a shard engine and its store.
///
/// Every turn of the loop gathers the replies of all requests applied in that turn, then in the
/// before-sleep hook writes their journal records with one `write` and (policy `always`) one
/// `fdatasync`, and only then encodes the replies and events onto the links (group commit,
/// ARCHITECTURE.md "Store"). A reply is never sent for a change the disk has not taken.
public final class WorkerServer {
    let config: WorkerConfig
    let loop: EventLoop
    let engine: ShardEngine
    let store: ShardStore
    private var hasher: PasswordHasher!
    private var listenFD: Int32 = -1
    private var links: [ObjectIdentifier: GatewayLink] = [:]
    /// Replies computed this turn, waiting for the group commit.
    private var pending: [(link: GatewayLink, reply: LinkReply)] = []
    private var syncTimer: TimerHandle?
    private let log: (String) -> Void

    /// Opens the store (recovering it), rebuilds the engine and binds the socket.
    public init(config: WorkerConfig, log: @escaping (String) -> Void) throws {
        self.config = config
        self.log = log
        self.loop = try EventLoop()
        let opened = try ShardStore.open(directory: config.storeDirectory, policy: config.fsync, log: log)
        self.store = opened.store
        var engineConfig = EngineConfig()
        engineConfig.pbkdf2Iterations = config.pbkdf2Iterations
        let (shard, workers) = (config.shard, config.workers)
        engineConfig.ownsUser = { Slots.worker(for: $0, workers: workers) == shard }
        self.engine = try ShardEngine.load(snapshot: opened.snapshot, records: opened.records, config: engineConfig)
        log("shard \(config.shard): loaded \(opened.records.count) journal records on top of the snapshot")
        self.hasher = PasswordHasher(threads: config.hashThreads, loop: loop)
        listenFD = try Socket.listenUnix(path: config.socketPath)
        loop.addListener(fd: listenFD) { [unowned self] fd, _ in self.accept(fd: fd) }
        loop.addBeforeSleep { [unowned self] in self.commitAndRelease() }
        if config.fsync == .interval {
            scheduleIntervalSync()
        }
        schedulePurge()
    }

    /// Expired sessions are dropped every ten minutes (their tokens already fail `auth`; this
    /// keeps the table and the snapshot from growing with dead sessions). The records join the
    /// next group commit like any other change.
    private func schedulePurge() {
        loop.schedule(afterMs: 600_000) { [unowned self] in
            for record in self.engine.purgeExpiredSessions() { self.store.append(record) }
            self.schedulePurge()
        }
    }

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        log("shard \(config.shard)/\(config.workers) serving on \(config.socketPath)")
        loop.run()
        commitAndRelease()
        try? store.sync()
        store.close()
        unlink(config.socketPath)
    }

    /// Stops the loop after the current turn (thread-safe).
    public func stop() { loop.stop() }

    private func accept(fd: Int32) {
        let link = GatewayLink(server: self, maxFrameBytes: config.maxLinkFrameBytes)
        link.channel = loop.register(fd: fd, handler: link)
        link.channel.maxQueuedBytes = config.maxLinkQueuedBytes * 2
        links[ObjectIdentifier(link)] = link
    }

    func linkClosed(_ link: GatewayLink) {
        links[ObjectIdentifier(link)] = nil
    }

    /// Applies one request from `link`; its reply joins this turn's group commit.
    func handle(_ request: LinkRequest, from link: GatewayLink) {
        let engineRequest = EngineRequest(json: request.json, userID: request.userID,
                                          sessionID: request.sessionID, arg: request.arg,
                                          isInternal: request.isInternal, connectionID: request.connectionID)
        switch engine.handle(engineRequest) {
        case .done(let result):
            finish(result, request: request, link: link)
        case .needsPasswordHash(let job):
            hasher.derive(password: job.password, salt: job.salt, iterations: job.iterations) { [weak self, weak link] key in
                guard let self, let link else { return }
                self.finish(self.engine.resume(job, derivedKey: key), request: request, link: link)
            }
        }
    }

    private func finish(_ result: EngineResult, request: LinkRequest, link: GatewayLink) {
        for record in result.records { store.append(record) }
        let events = result.events.map {
            LinkEvent(userIDs: $0.userIDs, excludeConnectionID: request.connectionID, json: $0.json)
        }
        let reply = LinkReply(requestID: request.requestID, json: result.response,
                              authUserID: result.authUserID ?? "", authSessionID: result.authSessionID ?? "",
                              endSessionID: result.endSessionID ?? "", events: events)
        pending.append((link, reply))
    }

    /// The group commit: one write (and one fdatasync under `always`) for every record of this
    /// turn, then every reply of this turn onto its link and its events onto the other links.
    private func commitAndRelease() {
        if !pending.isEmpty || store.pendingBytes > 0 { releaseCommitted() }
        for link in links.values { link.flush() }
    }

    private func releaseCommitted() {
        do {
            try store.commit()
        } catch {
            // The store refuses to guess: replies for changes that may not be on disk must not
            // go out. Stop; the supervisor restarts us and recovery replays what did land.
            log("shard \(config.shard): journal write failed: \(error); stopping")
            exit(70)
        }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        for (link, reply) in batch where !link.channel.isClosed {
            link.enqueue(.reply(reply))
            if reply.events.isEmpty { continue }
            for other in links.values where other !== link && !other.channel.isClosed {
                other.enqueue(.events(reply.events))
            }
        }
        if store.journalBytes > config.compactJournalBytes {
            compact()
        }
    }

    private func compact() {
        do {
            let started = Clock.monotonicMs()
            try store.compact(snapshot: engine.snapshot())
            log("shard \(config.shard): compacted into a snapshot in \(Clock.monotonicMs() - started) ms")
        } catch {
            log("shard \(config.shard): compaction failed: \(error); stopping")
            exit(70)
        }
    }

    private func scheduleIntervalSync() {
        syncTimer = loop.schedule(afterMs: 1000) { [unowned self] in
            do { try self.store.sync() } catch {
                self.log("shard \(self.config.shard): fdatasync failed: \(error); stopping")
                exit(70)
            }
            self.scheduleIntervalSync()
        }
    }
}

/// One gateway event loop's link to this worker: decodes request frames and batches outgoing frames.
final class GatewayLink: ChannelHandler {
    unowned let server: WorkerServer
    var channel: Channel!
    private var decoder: LinkDecoder
    private var out: [UInt8] = []

    init(server: WorkerServer, maxFrameBytes: Int) {
        self.server = server
        self.decoder = LinkDecoder(maxFrameBytes: maxFrameBytes)
    }

    func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
        do {
            try decoder.feed(UnsafeRawBufferPointer(bytes)) { frame in
                switch frame {
                case .request(let request): server.handle(request, from: self)
                case .ping(let nonce): enqueue(.pong(nonce))
                case .reply, .events, .pong: break  // the gateway never sends these; ignore
                }
            }
        } catch {
            // A broken frame means the byte stream can no longer be trusted: drop the link;
            // the gateway answers its in-flight requests with `unavailable` and reconnects.
            channel.close()
        }
        if channel.queuedBytes > server.config.maxLinkQueuedBytes { channel.pauseReading() }
    }

    func channelWritable(_ channel: Channel) {
        if channel.isReadingPaused { channel.resumeReading() }
    }

    func channelClosed(_ channel: Channel) {
        server.linkClosed(self)
    }

    func enqueue(_ frame: LinkFrame) {
        LinkCodec.encode(frame, into: &out)
    }

    /// Hands this turn's frames to the channel as one chunk (one writev for the whole batch).
    func flush() {
        guard !out.isEmpty else { return }
        channel.write(out)
        out.removeAll(keepingCapacity: true)
    }
}
