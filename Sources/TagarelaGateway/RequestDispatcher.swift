// RequestDispatcher: carries out a client request on its loop: limits, auth, routing, multi-shard plans and replies.
import TagarelaJSON
import TagarelaLink
import TagarelaModel

extension GatewayLoop {
    /// Handles one client message (a WebSocket message or an NDJSON line). `payload` is valid
    /// only during the call; it is copied once, into the link request, when it is forwarded.
    func handleRequest(_ conn: ClientConnection, _ payload: UnsafeRawBufferPointer) {
        // Closing for abuse: what follows the request that crossed the line is not handled.
        guard !conn.closingForAbuse else { return }
        let envelope = RequestEnvelope.parse(payload)
        let retryAfterMs: Int
        let closeAfter: Bool
        switch conn.limiter.admit(nowMs: eventLoop.nowMs, policy: policy) {
        case .allowed:
            retryAfterMs = 0
            closeAfter = false
        case .limited(let retry):
            retryAfterMs = retry
            closeAfter = false
        case .limitedAndClose(let retry):
            retryAfterMs = retry
            closeAfter = true
        }
        if retryAfterMs > 0 {
            counters.rateLimited += 1
            let label = envelope.label
            conn.send(Responses.rateLimited(type: label.type, requestID: label.requestID,
                                            retryAfterMs: Int64(retryAfterMs)))
            // PROTOCOL.md 2.5: more than 100 `rate_limited` in 10 s closes (WebSocket 1008),
            // once the requests let through before are answered.
            if closeAfter { conn.closeForAbuse() }
            return
        }
        // Let through: it gets exactly one `answer`, which a close for abuse waits for.
        conn.unanswered += 1
        if conn.isHolding {
            // An earlier login/auth/logout of this connection is still in flight (what follows
            // must see its outcome), or a worker link it feeds is full (the rest of this read
            // must not pass the link's bound): it waits, in order.
            conn.heldRequests.append(Array(payload))
            return
        }
        process(conn, envelope, payload)
    }

    /// Handles a request that passed admission and is next in its connection's order.
    private func process(_ conn: ClientConnection, _ envelope: RequestEnvelope, _ payload: UnsafeRawBufferPointer) {
        switch envelope {
        case .invalid(let failure):
            // A field of a known type is checked after that type's own checks (authentication
            // first), as when the worker alone read the fields.
            if let type = failure.knownType, !admit(conn, type, envelope.label) { return }
            if failure.error.code == .badRequest { counters.requestsInvalid += 1 }
            conn.answer(failure.response())
        case .valid(let facts):
            guard admit(conn, facts.type, envelope.label) else { return }
            dispatch(conn, facts, label: envelope.label, payload: payload)
        }
    }

    /// The checks every request of `type` gets before its fields matter: counted, authenticated,
    /// a worker to ask. False when `conn` was answered.
    private func admit(_ conn: ClientConnection, _ type: RequestType, _ label: RequestLabel) -> Bool {
        counters.requestsByType[type.index] += 1
        if type.needsAuthentication && conn.userID.isEmpty {
            counters.unauthenticated += 1
            conn.answer(Responses.error(type: label.type, requestID: label.requestID, code: .unauthenticated,
                                        message: "log in or authenticate first"))
            return false
        }
        if type != .getPresence && config.workers == 0 {
            unavailable(conn, label)
            return false
        }
        return true
    }

    private func dispatch(_ conn: ClientConnection, _ facts: RoutingFacts, label: RequestLabel,
                          payload: UnsafeRawBufferPointer) {
        let type = facts.type
        let route = RequestRouter.route(facts.key, userID: conn.userID, workers: max(1, config.workers))
        switch route {
        case .presence(let ids):
            let online = gateway.presence.states(ids)
            conn.answer(Responses.presence(requestID: label.requestID,
                                           statuses: ids.indices.map { (ids[$0], online[$0]) }))
        case .shard(let k):
            forward(conn, label, shard: k, json: Array(payload), arg: "")
            // Identity requests are slow (a password hash) and change what later requests of this
            // connection may do, so those wait: `register` then `login` on one line must work.
            if type.changesIdentity, links[k].isUp, !conn.isClosed {
                holdUntilIdentitySettles(conn)
            }
        case .createChat(let target, let targetShard, let chatID, let chatShard):
            let body = Array(payload)
            checkUsers([ShardUsers(shard: targetShard, userIDs: [target])], conn, label) { [self] in
                forward(conn, label, shard: chatShard, json: body, arg: chatID)
            }
        case .addGroupMember(let user, let userShard, let chatShard):
            let body = Array(payload)
            checkUsers([ShardUsers(shard: userShard, userIDs: [user])], conn, label) { [self] in
                forward(conn, label, shard: chatShard, json: body, arg: "")
            }
        case .createGroup(let groupID, let groupShard, let checks):
            // Groups created per user, on every connection and loop together (Limits).
            if let retryMs = gateway.groupQuota.take(conn.userID, nowMs: eventLoop.nowMs) {
                let limits = config.limits
                conn.answer(Responses.error(type: label.type, requestID: label.requestID, code: .limitReached,
                                            message: "at most \(limits.groupsCreatedPerUserMax) new groups per user every \(limits.groupsCreatedWindowMs / 1000) s",
                                            retryAfterMs: retryMs, limit: RequestError.Limit.groupsCreated.rawValue))
                return
            }
            let body = Array(payload)
            checkUsers(checks, conn, label) { [self] in
                forward(conn, label, shard: groupShard, json: body, arg: groupID)
            }
        case .userChats(let limit, let cursor):
            let request = InternalRequest.encode(type: "user_chats") { w in
                w.key("user_id"); w.string(conn.userID)
                w.key("limit"); w.int(limit)
                if let cursor = cursor { w.key("cursor"); w.string(cursor.text) }
            }
            scatter(conn, label, request) { replies in
                ScatterMerge.userChats(replies, requestID: label.requestID, limit: limit)
            }
        case .searchUsers(let query, let limit):
            let request = InternalRequest.encode(type: "search_users") { w in
                w.key("query"); w.string(query)
                w.key("limit"); w.int(limit)
            }
            scatter(conn, label, request) { replies in
                ScatterMerge.searchUsers(replies, requestID: label.requestID, limit: limit)
            }
        }
    }

    // MARK: - Ordering around identity changes

    /// Later requests of `conn` wait until its register/login/auth/logout is answered. Reading pauses
    /// meanwhile, so what waits is at most one read's worth of requests.
    private func holdUntilIdentitySettles(_ conn: ClientConnection) {
        conn.awaitingIdentity = true
        conn.channel.pauseReading()
    }

    /// Nothing holds `conn` any more (its identity request was answered, or its worker link
    /// drained): run what waited, in order, until one of them holds it again (an identity
    /// change, a full link); reading resumes once nothing waits.
    func releaseHeld(_ conn: ClientConnection) {
        while !conn.awaitingIdentity && !conn.pausedForLink && !conn.heldRequests.isEmpty && !conn.isClosed {
            let next = conn.heldRequests.removeFirst()
            next.withUnsafeBytes { process(conn, RequestEnvelope.parse($0), $0) }
        }
        if conn.isClosed {
            conn.heldRequests = []
        } else if !conn.isHolding {
            conn.resumeReadingAfterHold()
        }
    }

    /// Marks the end of `conn`'s identity request when `label` is one (its reply or its failure
    /// came). Only that reply may release the requests behind it: an earlier request's reply
    /// arriving first must not.
    private func settleIdentity(_ conn: ClientConnection, _ label: RequestLabel) {
        if RequestType(rawValue: label.type)?.changesIdentity == true { conn.awaitingIdentity = false }
    }

    // MARK: - Forwarding

    /// Sends the client's JSON to `shard`; its reply goes straight back to the client.
    func forward(_ conn: ClientConnection, _ label: RequestLabel, shard: Int, json: [UInt8], arg: String) {
        guard !conn.isClosed else { return }
        let link = links[shard]
        guard link.isUp else {
            unavailable(conn, label)
            return
        }
        let request = LinkRequest(requestID: makeRequestID(), connectionID: conn.id, flags: 0,
                                  userID: conn.userID, sessionID: conn.sessionID, arg: arg, json: json)
        link.send(request, .client(conn, label))
        if link.isBusy { link.park(conn) }
    }

    /// Sends an internal (gateway-made) request; `done` gets the parsed answer, or nil when the
    /// shard is unavailable or answered something that is not JSON.
    func ask(_ shard: Int, _ conn: ClientConnection, _ json: [UInt8], _ done: @escaping (JSON?) -> Void) {
        let link = links[shard]
        guard link.isUp else {
            done(nil)
            return
        }
        let request = LinkRequest(requestID: makeRequestID(), connectionID: 0, flags: LinkRequest.internalFlag,
                                  userID: conn.userID, sessionID: conn.sessionID, arg: "", json: json)
        link.send(request, .step({ reply in
            guard let reply = reply else { return done(nil) }
            done(try? JSON.parse(reply.json))
        }))
        if link.isBusy { link.park(conn) }
    }

    /// Checks with each shard that its users exist (`users_exist`), then runs `then`; a missing
    /// user is `not_found`, a shard down is `unavailable` (README.md "How it is built", Routing).
    private func checkUsers(_ checks: [ShardUsers], _ conn: ClientConnection, _ label: RequestLabel,
                            then: @escaping () -> Void) {
        guard !checks.isEmpty else { return then() }
        var remaining = checks.count
        var failure: [UInt8]? = nil
        var missing: [String] = []
        for check in checks {
            let request = InternalRequest.encode(type: "users_exist") { w in
                w.key("user_ids")
                w.beginArray()
                for id in check.userIDs { w.string(id) }
                w.endArray()
            }
            ask(check.shard, conn, request) { [self] reply in
                if failure == nil {
                    if let reply = reply {
                        if let m = ScatterMerge.missingUsers(reply) {
                            missing += m
                        } else {
                            failure = Responses.relabeledError(reply, type: label.type, requestID: label.requestID)
                        }
                    } else {
                        counters.unavailable += 1
                        failure = Responses.error(type: label.type, requestID: label.requestID,
                                                  code: .unavailable, message: "a shard is unavailable, retry")
                    }
                }
                remaining -= 1
                guard remaining == 0 else { return }
                if let failure = failure {
                    conn.answer(failure)
                } else if !missing.isEmpty {
                    conn.answer(Responses.error(type: label.type, requestID: label.requestID, code: .notFound,
                                                message: "no such user: \(missing.joined(separator: ", "))"))
                } else {
                    then()
                }
            }
        }
    }

    /// Sends `request` to every shard and answers the client with `merge` of the answers.
    private func scatter(_ conn: ClientConnection, _ label: RequestLabel, _ request: [UInt8],
                         merge: @escaping ([JSON?]) -> ScatterMerge.Outcome) {
        var replies = [JSON?](repeating: nil, count: links.count)
        var remaining = links.count
        for shard in 0..<links.count {
            ask(shard, conn, request) { [self] reply in
                replies[shard] = reply
                remaining -= 1
                guard remaining == 0 else { return }
                switch merge(replies) {
                case .ok(let bytes), .error(let bytes): respond(conn, label, bytes)
                }
            }
        }
    }

    // MARK: - Replies

    /// Carries out a worker's reply to the request it answers.
    func complete(_ pending: PendingReply, _ reply: LinkReply) {
        switch pending {
        case .step(let next):
            next(reply)
        case .client(let conn, let label):
            if !reply.endSessionID.isEmpty {
                let user = conn.userID
                // change_password keeps its own connection: it is rebound to the new session below.
                if reply.authUserID.isEmpty { unbind(conn) }
                if !user.isEmpty {
                    endSessionEverywhere(userID: user, sessionID: reply.endSessionID, except: conn.id,
                                         reason: Events.sessionEndReason(forRequestType: label.type))
                }
            }
            if !reply.authUserID.isEmpty && !conn.isClosed {
                bind(conn, userID: reply.authUserID, sessionID: reply.authSessionID)
            }
            respond(conn, label, reply.json)
            settleIdentity(conn, label)
            releaseHeld(conn)
        }
        if !reply.events.isEmpty { deliver(reply.events) }
    }

    /// The link dropped before the reply: the client gets `unavailable` (safe to retry).
    func fail(_ pending: PendingReply) {
        switch pending {
        case .step(let next): next(nil)
        case .client(let conn, let label):
            unavailable(conn, label)
            settleIdentity(conn, label)
            releaseHeld(conn)
        }
    }

    /// Answers a request (counted as owed by `conn.answer`), or `too_large` when it could never fit the client's output queue
    /// (which would close the client, on every retry). Responses are bounded by construction
    /// below `Limits.outgoingQueueBytesMax` (`OutputBounds`), so this is the last line of
    /// defence, not a path the protocol's limits can reach (PROTOCOL.md 3.6).
    func respond(_ conn: ClientConnection, _ label: RequestLabel, _ bytes: [UInt8]) {
        // A WebSocket frame header is at most 14 bytes, an NDJSON line adds 1.
        let bytesMax = config.limits.outgoingQueueBytesMax - 14
        guard bytes.count <= bytesMax else {
            config.log("loop \(index): a \(label.type) response of \(bytes.count) bytes exceeds \(bytesMax); answered too_large")
            conn.answer(Responses.tooLarge(type: label.type, requestID: label.requestID, bytes: bytes.count, bytesMax: bytesMax))
            return
        }
        conn.answer(bytes)
    }

    func unavailable(_ conn: ClientConnection, _ label: RequestLabel) {
        counters.unavailable += 1
        conn.answer(Responses.error(type: label.type, requestID: label.requestID, code: .unavailable,
                                    message: "the shard is unavailable, retry"))
    }
}
