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
        guard request.json.count < 64 * 1024, let envelope = try? JSON.parse(request.json),
              envelope["type"]?.string == RequestType.getPresence.rawValue else { return nil }
        let ids = (envelope["user_ids"]?.array ?? []).prefix(FieldLimits.presenceIDsMax).map { $0.string ?? "" }
        return Responses.presence(requestID: envelope["request_id"]?.string,
                                  statuses: ids.map { ($0, subscribers[$0.lowercased()]?.isEmpty == false) })
    }

    /// A logout, logout_all or change_password ended sessions of a user: the gateway that asked
    /// ends them on its own loops; every other gateway holding a connection of the user hears it
    /// in a reply with request id 0 (no request of theirs), which a gateway takes like a late
    /// reply: the sessions end on all its loops (PROTOCOL.md 3.12). One loop per gateway is told.
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
