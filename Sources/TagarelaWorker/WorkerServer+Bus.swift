// WorkerServer+Bus: what a worker does for a cluster of several gateways: presence from every loop's subscriptions, session ends carried to other gateways.
import TagarelaJSON
import TagarelaLink
import TagarelaModel

extension WorkerServer {
    /// The answer to a `get_presence` forwarded by a gateway on the bus, or nil for any other
    /// request. Every gateway loop subscribes each user it holds to every worker, so any worker
    /// knows who is online anywhere: a user is online while some loop has them subscribed (a
    /// loop's subscriptions go when it unsubscribes, or `busPeerSilenceMs` after it fell silent).
    func presenceResponse(_ request: LinkRequest) -> [UInt8]? {
        // The gateway marks a forwarded get_presence in `arg`; nothing else is parsed here.
        guard request.arg == RequestType.getPresence.rawValue, let envelope = try? JSON.parse(request.json),
              envelope["type"]?.string == RequestType.getPresence.rawValue else { return nil }
        let ids = (envelope["user_ids"]?.array ?? []).prefix(FieldLimits.presenceIDsMax).map { $0.string ?? "" }
        return Responses.presence(requestID: envelope["request_id"]?.string,
                                  statuses: ids.map { ($0, subscribers[$0.lowercased()]?.isEmpty == false) })
    }

    /// A logout, logout_all or change_password ended sessions of a user: the gateway that asked
    /// ends them on its own loops; every other gateway holding a connection of the user hears it
    /// in a reply with request id 0 (no request of theirs), which a gateway takes like a late
    /// reply: the sessions end on all its loops (PROTOCOL.md 3.8). One loop per gateway is told.
    func forwardSessionEnd(_ reply: LinkReply, from origin: GatewayLink) {
        guard busListener != nil, let holders = subscribers[reply.endUserID] else { return }
        var told: Set<String> = []
        if let key = origin.gatewayKey { told.insert(key) }
        for link in holders where !link.isClosed {
            guard let key = link.gatewayKey, told.insert(key).inserted else { continue }
            link.enqueue(LinkReply(requestID: 0, json: [], authUserID: reply.authUserID, authSessionID: "",
                                   endSessionID: reply.endSessionID, endUserID: reply.endUserID))
        }
    }
}

extension WorkerServer {
    /// Stops serving at once: the lease is lost (or could not be kept), so another worker may
    /// own the shard by now, and answering anything more could split the shard's history. The
    /// loop stops after this turn; `Worker.run` exits with status 5 and the supervisor restarts
    /// the worker, which takes the lease back if nobody else did, or refuses.
    func fence(_ reason: String) {
        guard fencedReason == nil else { return }
        fencedReason = reason
        logLine("fenced: \(reason); stopped serving")
        busListener?.stopServing()
        pending.removeAll()  // replies not sent: their requests time out `unavailable` at the gateway
        stop()
    }
}
