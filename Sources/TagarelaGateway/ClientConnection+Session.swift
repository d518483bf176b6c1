// ClientConnection+Session: feeds the connection's Session its events and carries out the actions it returns.
import TagarelaLink
import TagarelaSystem
import TagarelaWire

extension ClientConnection: SessionContext, LinkWaiter, LinkRequester {
    /// Hands `event` to the session and carries out each action as it is emitted. No action
    /// leads back into this session while it runs (see `Session`): the loop's part touches
    /// other connections and the links only, and a link never answers from inside a send.
    func drive(_ event: SessionEvent) {
        session.receive(event, self) { action in carryOut(action) }
    }

    private func carryOut(_ action: SessionAction) {
        switch action {
        case .forward(let shard, var request, let tag):
            if !request.isInternal { request.connectionID = id }
            loop.forward(request, toShard: shard, from: self, tag: tag)
        case .send(let json):
            send(json)
        case .pauseReading:
            channel.pauseReading()
        case .resumeReading:
            resumeReadingAfterHold()
        case .park(let shard):
            loop.park(self, onShard: shard)
        case .bind(let user, let previous):
            // An HTTP attachment request authenticates only to be routed: it is no presence
            // and gets no events.
            if transport != .http { loop.bind(self, userID: user, replacing: previous) }
        case .unbind(let user):
            if transport != .http { loop.unbind(self, userID: user) }
        case .endSessions(let user, let sessionID, let reason):
            loop.endSessions(userID: user, sessionID: sessionID, except: id, reason: reason)
        case .close(let code, let reason):
            closeForSession(code: code, reason: reason)
        case .count(.answered(let type, let arrivedNs)):
            let durationNs = Clock.monotonicNs() - arrivedNs
            loop.histograms.requestNs[type.index].observe(durationNs)
            if durationNs >= loop.slowRequestNs { logSlowRequest(type, durationNs: durationNs) }
        case .count(let counter):
            loop.counters.count(counter)
        case .log(let line):
            loop.config.log("connection \(id): \(line)")
        }
    }

    // MARK: - SessionContext

    var nowMs: Int64 { loop.nowMs }
    var peerHost: String { host }
    var receivesEvents: Bool { transport != .http }
    var settings: SessionSettings { loop.sessionSettings }
    func linkState(_ shard: Int) -> LinkState { loop.linkState(shard) }
    func presence(_ userIDs: [String]) -> [Bool] { loop.presence(userIDs) }
    func takeGroupQuota(_ userID: String) -> Int64? { loop.takeGroupQuota(userID) }
    func takeAttachmentQuota(_ userID: String, bytes: Int) -> Int64? { loop.takeAttachmentQuota(userID, bytes: bytes) }

    // MARK: - LinkWaiter

    func linkDrained() {
        drive(.linkDrained)
    }
}

extension LoopCounters {
    /// Counts what a session reported.
    mutating func count(_ counter: SessionCounter) {
        switch counter {
        case .request(let type): requestsByType[type.index] += 1
        case .invalid: requestsInvalid += 1
        case .rateLimited: rateLimited += 1
        case .unauthenticated: unauthenticated += 1
        case .unavailable: unavailable += 1
        case .sessionEnded: sessionsEnded += 1
        case .backpressurePause: backpressurePauses += 1
        case .answered: break  // a histogram's, carried out by the connection
        }
    }
}
