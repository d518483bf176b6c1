// Session+Dispatch: what a session does with a request at its turn (auth, routing, forwarding, multi-shard plans) and with the worker's answer.
import TagarelaJSON
import TagarelaLink
import TagarelaModel

extension Session {
    // MARK: - Requests

    /// Handles a request that passed admission and is next in order. `held` is the request's
    /// own copy when it waited (forwarded as is), nil when `payload` is the read buffer.
    mutating func process<C: SessionContext>(_ envelope: RequestEnvelope, _ payload: UnsafeRawBufferPointer,
                                             held: [UInt8]?, arrivedNs: Int64, _ c: C, _ emit: (SessionAction) -> Void) {
        var label = envelope.label
        label.arrivedNs = arrivedNs
        switch envelope {
        case .invalid(let failure):
            // A field of a known type is checked after that type's own checks (authentication
            // first), as when the worker alone read the fields.
            if let type = failure.knownType, !admit(type, label, c, emit) { return }
            if failure.error.code == .badRequest { emit(.count(.invalid)) }
            answer(failure.response(), label, emit)
        case .valid(let facts):
            guard admit(facts.type, label, c, emit) else { return }
            dispatch(facts, label, payload, held, c, emit)
        }
    }

    /// The checks every request of `type` gets before its fields matter: counted, authenticated,
    /// a worker to ask. False when the request was answered.
    private mutating func admit<C: SessionContext>(_ type: RequestType, _ label: RequestLabel, _ c: C,
                                                   _ emit: (SessionAction) -> Void) -> Bool {
        emit(.count(.request(type)))
        if type.needsAuthentication && userID.isEmpty {
            emit(.count(.unauthenticated))
            answer(Responses.error(type: label.type, requestID: label.requestID, code: .unauthenticated,
                                   message: "log in or authenticate first"), label, emit)
            return false
        }
        if type != .getPresence && c.settings.workers == 0 {
            unavailable(label, emit)
            return false
        }
        return true
    }

    /// Routes a request by its routing facts (`RequestRouter`) and starts what its route asks.
    /// The client's JSON is forwarded verbatim: copied out of the read buffer once, and only
    /// when forwarded; the worker validates the fields routing did not need.
    private mutating func dispatch<C: SessionContext>(_ facts: RoutingFacts, _ label: RequestLabel,
                                                      _ payload: UnsafeRawBufferPointer, _ held: [UInt8]?,
                                                      _ c: C, _ emit: (SessionAction) -> Void) {
        func body() -> [UInt8] { held ?? Array(payload) }
        let type = facts.type
        switch RequestRouter.route(facts.key, userID: userID, workers: max(1, c.settings.workers)) {
        case .presence where c.settings.presenceFromWorkers:
            // Any worker knows every loop's subscriptions; the caller's own shard answers.
            let shard = userID.isEmpty ? 0 : Slots.worker(for: userID, workers: c.settings.workers)
            // The argument marks it for the worker, which then need not parse every request.
            forward(label, shard: shard, json: body(), arg: RequestType.getPresence.rawValue, c, emit)
        case .presence(let ids):
            let online = c.presence(ids)
            answer(Responses.presence(requestID: label.requestID, statuses: ids.indices.map { (ids[$0], online[$0]) }), label, emit)
        case .shard(let k):
            // Attachment bytes per user, on every connection and loop together (Limits).
            if facts.attachmentBytes > 0, let retryMs = c.takeAttachmentQuota(userID, bytes: facts.attachmentBytes) {
                let limits = c.settings.limits
                answer(Responses.error(type: label.type, requestID: label.requestID, code: .limitReached,
                                       message: "at most \(limits.attachmentBytesPerUserMax) attachment bytes per user every \(limits.attachmentBytesWindowMs / 1000) s",
                                       retryAfterMs: retryMs, limit: RequestError.Limit.attachmentBytes.rawValue), label, emit)
                return
            }
            // Identity requests are slow (a password hash) and change what later requests of
            // this connection may do, so those wait: `register` then `login` on one line works.
            // A login carries the client's address for the shard's password throttle, which
            // counts failures per account and address (PROTOCOL.md 3.2).
            let arg = type == .login ? c.peerHost : ""
            if forward(label, shard: k, json: body(), arg: arg, c, emit) && type.changesIdentity {
                holdUntilIdentitySettles(emit)
            }
        case .createChat(let target, let targetShard, let chatID, let chatShard):
            checkUsers([ShardUsers(shard: targetShard, userIDs: [target])], label,
                       then: PlannedForward(shard: chatShard, json: body(), arg: chatID), c, emit)
        case .addGroupMember(let user, let userShard, let chatShard):
            checkUsers([ShardUsers(shard: userShard, userIDs: [user])], label,
                       then: PlannedForward(shard: chatShard, json: body(), arg: ""), c, emit)
        case .createGroup(let groupID, let groupShard, let checks):
            // Groups created per user, on every connection and loop together (Limits).
            if let retryMs = c.takeGroupQuota(userID) {
                let limits = c.settings.limits
                answer(Responses.error(type: label.type, requestID: label.requestID, code: .limitReached,
                                       message: "at most \(limits.groupsCreatedPerUserMax) new groups per user every \(limits.groupsCreatedWindowMs / 1000) s",
                                       retryAfterMs: retryMs, limit: RequestError.Limit.groupsCreated.rawValue), label, emit)
                return
            }
            checkUsers(checks, label, then: PlannedForward(shard: groupShard, json: body(), arg: groupID), c, emit)
        case .userChats(let limit, let cursor):
            let request = InternalRequest.encode(type: "user_chats") { w in
                w.key("user_id"); w.string(userID)
                w.key("limit"); w.int(limit)
                if let cursor = cursor { w.key("cursor"); w.string(cursor.text) }
            }
            scatter(label, .userChats(limit: limit), request, c, emit)
        case .searchUsers(let query, let limit):
            let request = InternalRequest.encode(type: "search_users") { w in
                w.key("query"); w.string(query)
                w.key("limit"); w.int(limit)
            }
            scatter(label, .searchUsers(limit: limit), request, c, emit)
        }
    }

    // MARK: - Forwarding

    /// Sends the client's JSON to `shard`, its reply to go straight back to the client. False
    /// when it was not sent: the connection is closing (no answer is wanted), or the shard is
    /// down (answered `unavailable`).
    @discardableResult
    mutating func forward<C: SessionContext>(_ label: RequestLabel, shard: Int, json: [UInt8], arg: String,
                                             _ c: C, _ emit: (SessionAction) -> Void) -> Bool {
        guard !c.isClosed else { return false }
        guard c.linkState(shard) != .down else {
            unavailable(label, emit)
            return false
        }
        let request = LinkRequest(requestID: 0, connectionID: 0, flags: 0, userID: userID, sessionID: sessionID,
                                  arg: arg, json: json)
        emit(.forward(shard: shard, request: request, tag: .answer(label)))
        waitIfBusy(shard, c, emit)
        return true
    }

    /// Sends a gateway-made request as part `part` of `plan`; false when the shard is down
    /// (the part then has no answer, which the plan counts at once).
    mutating func ask<C: SessionContext>(_ shard: Int, _ json: [UInt8], plan: UInt32, part: Int,
                                         _ c: C, _ emit: (SessionAction) -> Void) -> Bool {
        guard c.linkState(shard) != .down else { return false }
        let request = LinkRequest(requestID: 0, connectionID: 0, flags: LinkRequest.internalFlag,
                                  userID: userID, sessionID: sessionID, arg: "", json: json)
        emit(.forward(shard: shard, request: request, tag: .step(plan: plan, part: part)))
        waitIfBusy(shard, c, emit)
        return true
    }

    // MARK: - Answers from workers

    /// Carries out a worker's reply to the request `tag` names. The reply's events are the
    /// loop's to deliver, after this.
    mutating func replied<C: SessionContext>(_ tag: ReplyTag, _ reply: LinkReply, _ c: C,
                                             _ emit: (SessionAction) -> Void) {
        switch tag {
        case .step(let plan, let part):
            partAnswered(plan, part, try? JSON.parse(reply.json), c, emit)
        case .sessionCheck(let checked), .sessionRecheck(let checked):
            sessionChecked(checked, live: SessionCheck.live(in: reply.json), c, emit)
        case .answer(let label):
            if !reply.endSessionID.isEmpty {
                // The worker names the user: this connection may have closed, and so forgotten
                // its user, before the answer came; the user's other connections end all the same.
                let user = reply.endUserID.isEmpty ? userID : reply.endUserID
                // change_password keeps its own connection: it is rebound to the new session below.
                if reply.authUserID.isEmpty { unbind(emit) }
                if !user.isEmpty {
                    emit(.endSessions(userID: user, sessionID: reply.endSessionID,
                                      reason: Events.sessionEndReason(endSessionID: reply.endSessionID,
                                                                      rebindsCaller: !reply.authUserID.isEmpty)))
                }
            }
            let previousSession = sessionID
            if !reply.authUserID.isEmpty && !c.isClosed {
                bind(reply.authUserID, session: reply.authSessionID, emit)
            }
            respond(label, reply.json, c, emit)
            // Newly bound to this session: it may have ended before the bind's subscribe reached
            // the shard, or (the same user, another token) before this answer bound it, when a
            // notice naming it would have found the connection on its old session. Asked after
            // the answer, so the client hears of its login first.
            if sessionID != previousSession && !userID.isEmpty { checkSessionLive(c, emit) }
            settleIdentity(label)
            releaseHeld(c, emit)
        }
    }

    /// The request `tag` names will not be answered (link down, deadline): `unavailable`,
    /// safe to retry.
    mutating func failed<C: SessionContext>(_ tag: ReplyTag, _ c: C, _ emit: (SessionAction) -> Void) {
        switch tag {
        case .step(let plan, let part):
            partAnswered(plan, part, nil, c, emit)
        case .sessionCheck(let checked):
            sessionUnverified(checked, c, emit)
        case .sessionRecheck:
            break  // vouched for once; the link's next return asks again
        case .answer(let label):
            unavailable(label, emit)
            settleIdentity(label)
            releaseHeld(c, emit)
        }
    }

    /// Answers with `bytes`, or `too_large` when they could never fit the client's output queue
    /// (which would close the client, on every retry). Responses are bounded by construction
    /// below `Limits.outgoingQueueBytesMax` (`OutputBounds`), so this is the last line of
    /// defence, not a path the protocol's limits can reach (PROTOCOL.md 3.6).
    mutating func respond<C: SessionContext>(_ label: RequestLabel, _ bytes: [UInt8], _ c: C,
                                             _ emit: (SessionAction) -> Void) {
        // A WebSocket frame header is at most 14 bytes, an NDJSON line adds 1.
        let bytesMax = c.settings.limits.outgoingQueueBytesMax - 14
        guard bytes.count <= bytesMax else {
            emit(.log("a \(label.type) response of \(bytes.count) bytes exceeds \(bytesMax); answered too_large"))
            answer(Responses.tooLarge(type: label.type, requestID: label.requestID, bytes: bytes.count, bytesMax: bytesMax), label, emit)
            return
        }
        answer(bytes, label, emit)
    }

    mutating func unavailable(_ label: RequestLabel, _ emit: (SessionAction) -> Void) {
        emit(.count(.unavailable))
        answer(Responses.error(type: label.type, requestID: label.requestID, code: .unavailable,
                               message: "the shard is unavailable, retry"), label, emit)
    }
}
