// WorkerServer: serves the gateway's links for one shard, applying requests to the engine and releasing replies only once their journal records are durable.
import Foundation
import TagarelaBus
import TagarelaCrypto
import TagarelaEventLoop
import TagarelaJSON
import TagarelaLink
import TagarelaModel
import TagarelaShard
import TagarelaStore
import TagarelaSystem

/// One worker: a single-threaded event loop that owns a shard engine and its store.
///
/// Every turn of the loop gathers the replies of all requests applied in that turn, then in the
/// before-sleep hook writes their journal records with one `write` and (policy `always`) one
/// `fdatasync`, and only then encodes the replies and events onto the links (group commit,
/// README.md "How it is built", Worker). A reply is never sent for a change the disk has not taken.
public final class WorkerServer {
    let config: WorkerConfig
    let loop: EventLoop
    let engine: ShardEngine
    let store: ShardStore
    /// The shard's attachment files (`DIR/shard-K/attachments`).
    let attachments: AttachmentStore
    private var hasher: PasswordHasher!
    private var listenFD: Int32 = -1
    private var links: [ObjectIdentifier: GatewayLink] = [:]
    /// user id -> the links (gateway loops) that hold a connection of that user, from their
    /// `subscribe`/`unsubscribe` frames. Events go only to these links (subscription routing).
    private(set) var subscribers: [String: [GatewayLink]] = [:]
    /// Links that got at least one user of the event being routed (scratch, reused).
    private var touched: [GatewayLink] = []
    /// Replies computed this turn, waiting for the group commit.
    var pending: [(link: GatewayLink, reply: LinkReply)] = []
    /// Why the worker stopped serving after losing its shard's lease; nil while it may serve.
    var fencedReason: String?
    private var syncTimer: TimerHandle?
    let log: (String) -> Void
    /// Group commit, fdatasync and compaction measurements, answered to the gateway's stats request.
    var metrics = WorkerMetrics()
    /// The links over the bus, when `config.bus` is set.
    private(set) var busListener: BusListener?
    /// Test hook: runs on the snapshot thread before it serialises (WorkerServer+Compaction).
    var snapshotWillSerialise: (() -> Void)?

    /// A structured log event (issue 13): in JSON its fields; in text `message` through `log`,
    /// as this shard's lines have always gone.
    func logEvent(_ name: String, level: LogLevel = .info, message: String, _ fields: [(String, LogField)]) {
        guard config.logFormat == .json else { return log("shard \(config.shard): " + message) }
        LogWriter(process: "worker \(config.shard)", format: .json)
            .event(name, level: level, message: message, [("shard", .int(Int64(config.shard)))] + fields)
    }

    /// Logs a line for this shard (for the links).
    func logLine(_ text: String) { log("shard \(config.shard): \(text)") }

    /// Opens the store (recovering it), rebuilds the engine and binds the socket.
    public init(config: WorkerConfig, log: @escaping (String) -> Void) throws {
        self.config = config
        self.log = log
        self.loop = try EventLoop()
        loop.flushDelayMs = config.flushDelayMs
        loop.flushPolicy = config.flushPolicy
        let opened = try ShardStore.open(directory: config.storeDirectory, policy: config.fsync, log: log)
        self.store = opened.store
        var engineConfig = EngineConfig.withRealEffects()
        engineConfig.pbkdf2Iterations = config.pbkdf2Iterations
        engineConfig.attachmentBytesMax = config.attachmentBytesMax
        let (shard, workers) = (config.shard, config.workers)
        engineConfig.ownsUser = { Slots.worker(for: $0, workers: workers) == shard }
        self.engine = try ShardEngine.load(snapshot: opened.snapshot, records: opened.records, config: engineConfig)
        log("shard \(config.shard): loaded \(opened.records.count) journal records on top of the snapshot")
        // Files no message references (a crash between a file and its record, or chats a
        // reshard moved away) are removed now, before any new file can be written.
        self.attachments = try AttachmentStore(storeDirectory: config.storeDirectory, policy: config.fsync)
        let swept = try attachments.sweep(keep: engine.referencedAttachments())
        if !swept.isEmpty { log("shard \(config.shard): removed \(swept.count) attachment files no message references") }
        if !store.corruptRecordFiles.isEmpty {
            log("shard \(config.shard): error: \(store.corruptRecordFiles.count) corrupt journal records are kept in "
                + "side files in \(config.storeDirectory): \(store.corruptRecordFiles.joined(separator: ", "))")
        }
        WorkerServer.publishStats(socketPath: config.socketPath,
                                  [(WorkerStatsFile.journalCorruptRecords, store.corruptRecordFiles.count)], log: log)
        metrics.starts = StartCounter.increment(storeDirectory: config.storeDirectory, log: log)
        store.onSync = { [unowned self] ns in self.metrics.fdatasyncNs.observe(ns) }
        logEvent("worker_started",
                 message: "start \(metrics.starts) on this shard folder", [("starts", .int(metrics.starts)),
                 ("journal_records_replayed", .int(Int64(opened.records.count)))])
        self.hasher = PasswordHasher(threads: config.hashThreads, jobsMax: config.hashJobsMax, loop: loop)
        listenFD = try Socket.listenUnix(path: config.socketPath)
        loop.addListener(fd: listenFD) { [unowned self] fd, _ in self.accept(fd: fd) }
        loop.addBeforeSleep { [unowned self] in self.commitAndRelease() }
        if config.fsync == .interval {
            scheduleIntervalSync()
        }
        schedulePurge()
        if let bus = config.bus {
            busListener = BusListener(server: self, settings: bus, epoch: hexString(SecureRandom.bytes(count: 8)))
        }
        if let watchdog = config.watchdog { scheduleWatchdog(watchdog) }
    }

    /// `WATCHDOG=1` from this loop every interval (see `SystemdWatchdog`).
    private func scheduleWatchdog(_ watchdog: SystemdWatchdog) {
        if let error = watchdog.notify() { log("shard \(config.shard): systemd watchdog notification failed: \(error)") }
        loop.schedule(afterMs: watchdog.intervalMs) { [unowned self] in self.scheduleWatchdog(watchdog) }
    }

    /// Writes the worker's stats file (WorkerStatsFile) atomically, 0600 whatever the umask like
    /// every file of the instance (Foundation's atomic write left it 0666 under umask 000); a
    /// failure is logged, since the file only feeds `/metrics`. Written once, at startup.
    static func publishStats(socketPath: String, _ counters: [(String, Int)], log: (String) -> Void) {
        let path = WorkerStatsFile.path(forSocket: socketPath)
        do {
            try FileTree.replaceDurably(path, with: Array(WorkerStatsFile.encode(counters).utf8), temporary: path + ".tmp")
        } catch {
            log("could not write \(path): \(error)")
        }
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
        if let busListener {
            busListener.start()
            busListener.serveWhenOwned()
        }
        loop.run()
        busListener?.stopServing()
        if fencedReason == nil { busListener?.releaseLease() }
        busListener?.bus.close()
        hasher.stop()
        commitAndRelease()
        endCompactionOnStop()
        try? store.sync()
        store.close()
        unlink(config.socketPath)
    }

    /// Stops the loop after the current turn (thread-safe).
    public func stop() { loop.stop() }

    private func accept(fd: Int32) {
        // The socket is the worker's whole trust boundary: a link's requests name their user and
        // are believed. So only processes of the allowed account get a link; the kernel's record
        // of the peer (SO_PEERCRED) is checked, not anything the peer says (issue 8).
        let peer: PeerCredentials
        do {
            peer = try Socket.peerCredentials(fd)
        } catch {
            log("shard \(config.shard): refused a link whose peer cannot be identified (\(error))")
            FileDescriptor.close(fd)
            return
        }
        guard peer.uid == config.allowedPeerUID else {
            log("shard \(config.shard): refused a link from uid \(peer.uid) (pid \(peer.pid)); "
                + "only uid \(config.allowedPeerUID) may connect")
            FileDescriptor.close(fd)
            return
        }
        let link = GatewayLink(server: self)
        let carrier = UnixGatewayCarrier(link: link, maxFrameBytes: config.maxLinkFrameBytes)
        carrier.channel = loop.register(fd: fd, handler: carrier, maxQueuedBytes: config.linkQueueCloseBytes)
        addLink(link)
    }

    /// A new gateway loop's link, on any carrier.
    func addLink(_ link: GatewayLink) {
        links[ObjectIdentifier(link)] = link
    }

    /// The loop's link starts afresh (the bus carrier's connect ping): it holds no users until
    /// it subscribes them again, so users it dropped while the bus was away are not kept.
    func resetSubscriptions(_ link: GatewayLink) {
        for user in link.subscribed { removeSubscriber(link, user) }
        link.subscribed.removeAll()
    }

    func linkClosed(_ link: GatewayLink) {
        links[ObjectIdentifier(link)] = nil
        resetSubscriptions(link)
    }

    /// A gateway loop now holds connections of `users` (its first one, or its whole set after
    /// the link (re)connected).
    func subscribe(_ users: [String], link: GatewayLink) {
        for user in users where link.subscribed.insert(user).inserted {
            subscribers[user, default: []].append(link)
        }
    }

    /// A gateway loop closed its last connection of each of `users`.
    func unsubscribe(_ users: [String], link: GatewayLink) {
        for user in users where link.subscribed.remove(user) != nil {
            removeSubscriber(link, user)
        }
    }

    private func removeSubscriber(_ link: GatewayLink, _ user: String) {
        guard var list = subscribers[user] else { return }
        list.removeAll { $0 === link }
        subscribers[user] = list.isEmpty ? nil : list
    }

    /// Applies one request from `link`; its reply joins this turn's group commit.
    func handle(_ request: LinkRequest, from link: GatewayLink) {
        if request.isInternal && request.arg == SessionCheck.arg {
            // Answered in this link's frame order, after the subscribe that came before it.
            let live = engine.sessionIsLive(userID: request.userID, sessionID: request.sessionID)
            finish(EngineResult(response: SessionCheck.answer(live: live)), request: request, link: link)
            return
        }
        if busListener != nil, let response = presenceResponse(request) {
            finish(EngineResult(response: response), request: request, link: link)
            return
        }
        let engineRequest = EngineRequest(json: request.json, userID: request.userID,
                                          sessionID: request.sessionID, arg: request.arg,
                                          isInternal: request.isInternal, connectionID: request.connectionID)
        run(engine.handle(engineRequest), request: request, link: link)
    }

    /// Carries out one step of a request: a result joins this turn's group commit; a password
    /// job runs on the pool and its resumption is carried out in turn (change_password takes two).
    private func run(_ step: EngineStep, request: LinkRequest, link: GatewayLink) {
        switch step {
        case .done(let result):
            finish(result, request: request, link: link)
        case .needsPasswordHash(let job):
            let queued = hasher.derive(password: job.password, salt: job.salt, iterations: job.iterations) { [weak self, weak link] key in
                guard let self else { return }
                guard let link else { return self.engine.abandon(job) }
                self.run(self.engine.resume(job, derivedKey: key), request: request, link: link)
            }
            guard queued else {
                // The pool is this far behind: queueing more would only grow memory and make
                // every login slower. Say so at once; the client retries after a second.
                let label = WorkerServer.label(of: request)
                let response = Responses.error(type: label.type, requestID: label.requestID,
                                               code: .rateLimited, message: "the server is busy hashing passwords",
                                               retryAfterMs: 1000)
                engine.abandon(job)
                finish(EngineResult(response: response), request: request, link: link)
                return
            }
        }
    }

    /// The gateway's `/metrics` asks for this worker's numbers.
    func stats(nonce: UInt64) -> WorkerStats {
        metrics.stats(nonce: nonce, engine: engine, store: store)
    }

    /// The `type` and `request_id` of a request, to answer it without the engine.
    static func label(of request: LinkRequest) -> (type: String, requestID: String?) {
        let envelope = try? JSON.parse(request.json)
        return (envelope?["type"]?.string ?? "error", envelope?["request_id"]?.string)
    }

    /// The largest response that goes out: the configured bound, and never more than a reply
    /// frame can carry with its own fields (ids and lengths, under 200 bytes; 512 kept).
    var responseBytesLimit: Int { min(config.responseBytesMax, config.replyFrameBytesMax - 512) }

    private func finish(_ result: EngineResult, request: LinkRequest, link: GatewayLink) {
        var result = result
        if let read = result.attachmentRead { result.response = attachmentResponse(read) }
        // A message's file first, durable under the fsync policy, then its record: recovery
        // never finds a record whose file is missing (AttachmentStore). Written here on the
        // loop: a 512 KiB write and fsync took 2-23 ms on the development machine, the order
        // of the group commit's own fdatasync that every reply already waits for (README.md).
        for file in result.files {
            do {
                try attachments.put(sha256: file.sha256, bytes: file.bytes)
            } catch {
                // The engine already holds the message; its record must not be written without
                // the file, and the reply must not go out. Stop as for a failed journal write:
                // the restart recovers what is durable, which does not include this message.
                log("shard \(config.shard): attachment write failed: \(error); stopping")
                exit(70)
            }
        }
        if result.response.count > responseBytesLimit {
            // Checked here, where the bytes exist, so an oversize answer can never reach the link
            // (where it would be refused and drop the link) or the client's queue (which would
            // close the client): the request is answered `too_large` (PROTOCOL.md 3.6).
            let label = WorkerServer.label(of: request)
            log("shard \(config.shard): a \(label.type) response of \(result.response.count) bytes exceeds \(responseBytesLimit); answered too_large")
            result.response = Responses.tooLarge(type: label.type, requestID: label.requestID,
                                                 bytes: result.response.count, bytesMax: responseBytesLimit)
        }
        for record in result.records { store.append(record) }
        let events = result.events.map {
            LinkEvent(userIDs: $0.userIDs, excludeConnectionID: request.connectionID, json: $0.json)
        }
        let reply = LinkReply(requestID: request.requestID, json: result.response,
                              authUserID: result.authUserID ?? "", authSessionID: result.authSessionID ?? "",
                              endSessionID: result.endSessionID ?? "",
                              endUserID: result.endSessionID == nil ? "" : request.userID, events: events)
        pending.append((link, reply))
    }

    /// The `get_attachment` answer: the file's bytes with their metadata. A referenced file
    /// that cannot be read is logged and answered like a missing attachment.
    private func attachmentResponse(_ read: AttachmentRead) -> [UInt8] {
        do {
            if let bytes = try attachments.read(sha256: read.attachment.sha256) {
                return ShardEngine.attachmentResponse(read, bytes: bytes)
            }
            log("shard \(config.shard): error: attachment file \(read.attachment.sha256) is missing")
        } catch {
            log("shard \(config.shard): error: attachment file \(read.attachment.sha256) unreadable: \(error)")
        }
        return Responses.error(type: read.type, requestID: read.requestID, ShardEngine.attachmentNotFound)
    }

    /// The group commit: one write (and one fdatasync under `always`) for every record of this
    /// turn, then every reply of this turn onto its link and its events onto the links that
    /// subscribed their users; then one flush per link.
    private func commitAndRelease() {
        if !pending.isEmpty || store.pendingBytes > 0 { releaseCommitted() }
        for link in links.values { link.flush() }
    }

    private func releaseCommitted() {
        do {
            // Timed only when there is something to write (a turn of reads only commits nothing).
            let writes = store.pendingBytes > 0
            let startNs = writes ? Clock.monotonicNs() : 0
            try store.commit()
            if writes {
                metrics.commitNs.observe(Clock.monotonicNs() - startNs)
                metrics.commitRecords.observe(Int64(store.lastCommitRecords))
                metrics.commits += 1
            }
        } catch {
            // The store refuses to guess: replies for changes that may not be on disk must not
            // go out. Stop; the supervisor restarts us and recovery replays what did land.
            log("shard \(config.shard): journal write failed: \(error); stopping")
            exit(70)
        }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        for (link, var reply) in batch {
            if reply.events.isEmpty {
                if !link.isClosed { link.enqueue(reply) }
                if !reply.endSessionID.isEmpty { forwardSessionEnd(reply, from: link) }
                continue
            }
            route(reply.events)
            // The origin link's share rides inside the reply (the requester's own other
            // connections on that loop are subscribed like anyone else); every other link that
            // holds a receiver gets an events frame with only its users' ids.
            reply.events = link.routed
            link.routed.removeAll()
            if !link.isClosed { link.enqueue(reply) }
            if !reply.endSessionID.isEmpty { forwardSessionEnd(reply, from: link) }
            for other in touched where other !== link {
                // The excluded connection is the sender's, numbered by its own gateway: on
                // another gateway the same number is someone else's connection.
                if !other.isClosed {
                    other.enqueue(events: other.gatewayKey == link.gatewayKey ? other.routed
                                  : other.routed.map { LinkEvent(userIDs: $0.userIDs, json: $0.json) })
                }
                other.routed.removeAll()
            }
            touched.removeAll(keepingCapacity: true)
        }
        compactIfDue()
    }

    /// Splits `events` by subscription: each link's `routed` gets the events that have at least
    /// one user subscribed on it, narrowed to those users; `touched` lists the links that got any.
    /// Subscriptions are read at release time (after every read of this turn), so a subscribe
    /// that reached this worker before the turn ends counts for the turn's events.
    private func route(_ events: [LinkEvent]) {
        for event in events {
            for user in event.userIDs {
                guard let holders = subscribers[user] else { continue }
                for holder in holders {
                    if holder.routeMark != routeStamp {
                        holder.routeMark = routeStamp
                        holder.routeUsers.removeAll(keepingCapacity: true)
                        if holder.routed.isEmpty { touched.append(holder) }
                    }
                    holder.routeUsers.append(user)
                }
            }
            // Close this event on every link that got users of it.
            for holder in touched where holder.routeMark == routeStamp {
                holder.routed.append(LinkEvent(userIDs: holder.routeUsers,
                                               excludeConnectionID: event.excludeConnectionID, json: event.json))
                holder.routeUsers.removeAll(keepingCapacity: true)
            }
            routeStamp &+= 1
        }
    }

    /// Distinguishes one event's routing pass from the next (see `GatewayLink.routeMark`).
    private var routeStamp: UInt64 = 1

    private func scheduleIntervalSync() {
        syncTimer = loop.schedule(afterMs: 1000) { [unowned self] in
            do {
                try self.store.sync()
            } catch {
                self.log("shard \(self.config.shard): fdatasync failed: \(error); stopping")
                exit(70)
            }
            self.scheduleIntervalSync()
        }
    }
}
