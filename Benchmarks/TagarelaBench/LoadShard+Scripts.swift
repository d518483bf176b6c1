// LoadShard+Scripts: the request scripts around the load: register/login, create_group, and the storm's auth plus catch-up.
import TagarelaJSON

extension LoadShard {
    /// What a client is waiting for (`BenchClient.step`).
    static let stepRegister = 1
    static let stepLogin = 2
    static let stepGroup = 3
    static let stepAuth = 4
    static let stepCatchUp = 5
    /// Closed on purpose by the storm, to be reconnected.
    static let stepAborted = 6
    /// Messages per catch-up page (PROTOCOL.md 2.3: `limit` at most 200).
    static let catchUpPage = 200

    // MARK: - Identity

    /// Registers (when `mode` is `.register`; a `conflict` falls through to login) and logs in
    /// every ready client, at most `options.batch` scripts at once.
    func authenticate(mode: ConnectAuth) {
        authMode = mode
        scripts.restart(mode == .none ? [] : clients.filter { $0.state == .ready })
        scripts.inFlight = 0
        begin(.authenticating, work: scripts.count)
        pumpScripts()
    }

    func pumpScripts() {
        while let client = scripts.next(limit: options.batch) {
            scripts.inFlight += 1
            if authMode == .register { sendRegister(client) } else { sendLogin(client) }
        }
    }

    func scriptFinished() {
        scripts.inFlight -= 1
        workDone()
        pumpScripts()
    }

    private func sendRegister(_ client: BenchClient) {
        sendCredentials(client, type: "register", requestID: "r", step: LoadShard.stepRegister)
    }

    private func sendLogin(_ client: BenchClient) {
        sendCredentials(client, type: "login", requestID: "l", step: LoadShard.stepLogin)
    }

    /// Sends `register` or `login` (the same two fields) and marks the client's script step.
    private func sendCredentials(_ client: BenchClient, type: String, requestID: String, step: Int) {
        client.step = step
        sendRequest(client, type, id: requestID) { w in
            w.key("username"); w.string(client.username)
            w.key("password"); w.string(options.password)
        }
    }

    /// Sends `{"type":…,"request_id":…}` with the members `fields` writes between them and the end.
    func sendRequest(_ client: BenchClient, _ type: String, id: String, _ fields: (inout JSONWriter) -> Void) {
        var w = JSONWriter()
        w.beginObject()
        w.key("type"); w.string(type)
        w.key("request_id"); w.string(id)
        fields(&w)
        w.endObject()
        let n = w.bytes.withUnsafeBytes { client.send(json: $0, scratch: &scratch, maskKey: rng.next32()) }
        counters.bytesOut += Int64(n)
    }

    // MARK: - Groups

    /// Deals this shard's users into `groups` (done once, before connecting).
    func formGroups(size: Int) {
        groups = []
        var index = 0
        while index + size <= clients.count {
            let members = Array(clients[index..<(index + size)])
            for m in members { m.groupSlot = groups.count }
            groups.append(members)
            index += size
        }
    }

    /// The first member of each group creates it with the others as members.
    func createGroups() {
        let leaders = groups.compactMap { $0.first }.filter { $0.state == .ready && !$0.token.isEmpty }
        scripts.restart([])
        scripts.inFlight = leaders.count
        begin(.grouping, work: leaders.count)
        for leader in leaders {
            let members = groups[leader.groupSlot]
            leader.step = LoadShard.stepGroup
            sendRequest(leader, "create_group", id: "g") { w in
                w.key("group_name"); w.string("bench \(options.runID) \(leader.index / options.group)")
                w.key("member_ids")
                w.beginArray()
                for m in members.dropFirst() { w.string(m.username) }
                w.endArray()
            }
        }
    }

    private func groupCreated(_ leader: BenchClient, chatID: String) {
        var head = JSONWriter()
        head.beginObject()
        head.key("type"); head.string("message")
        head.key("chat_id"); head.string(chatID)
        // The request id's digits and the rest are appended per message (LoadShard+Sending).
        let prefix = head.bytes + Array(#","request_id":"m"#.utf8)
        for member in groups[leader.groupSlot] {
            member.chatID = chatID
            member.messageHead = prefix
        }
        counters.groupsCreated += 1
    }

    // MARK: - Storm

    /// Drops every connection of a user with a chat at once, then reconnects them (window
    /// `options.batch`), authenticates with the saved token and catches up with `after_seq`.
    func storm() {
        stopSending()
        let targets = clients.filter { $0.state == .ready && !$0.chatID.isEmpty && !$0.token.isEmpty }
        connects.restart([])
        begin(.storming, work: targets.count)
        for client in targets {
            client.step = LoadShard.stepAborted
            client.abort()
        }
    }

    func stormClientReady(_ client: BenchClient) {
        client.step = LoadShard.stepAuth
        sendRequest(client, "auth", id: "a") { w in
            w.key("token"); w.string(client.token)
        }
    }

    private func sendCatchUp(_ client: BenchClient, afterSeq: Int64) {
        client.step = LoadShard.stepCatchUp
        sendRequest(client, "get_messages", id: "c") { w in
            w.key("chat_id"); w.string(client.chatID)
            w.key("after_seq"); w.int(afterSeq)
            w.key("limit"); w.int(LoadShard.catchUpPage)
            w.key("mark_read"); w.bool(false)
        }
    }

    /// Marks a catch-up page; returns the highest seq in it and whether more pages follow.
    private func absorbPage(_ client: BenchClient, _ json: JSON) -> (last: Int64, hasMore: Bool) {
        var last: Int64 = 0
        for message in json["messages"]?.array ?? [] {
            guard let seq = message["seq"]?.int else { continue }
            if client.seqs.mark(seq) { counters.caughtUpMessages += 1 }
            last = max(last, seq)
        }
        return (last, json["has_more"]?.bool ?? false)
    }

    /// Counts, over this shard's groups, the (receiver, seq) pairs missing below the highest
    /// seq any member of the group has seen, and the receivers with at least one gap.
    func verifyCompleteness() -> (missing: Int64, receiversWithGaps: Int, highestSeqTotal: Int64) {
        var missing: Int64 = 0
        var gaps = 0
        var highestTotal: Int64 = 0
        for members in groups {
            let top = members.reduce(Int64(0)) { max($0, $1.seqs.highest) }
            highestTotal += top
            for m in members {
                let n = m.seqs.missing(upTo: top)
                missing += n
                if n > 0 { gaps += 1 }
            }
        }
        return (missing, gaps, highestTotal)
    }

    // MARK: - Responses

    /// A response other than to `message`: advances the client's script.
    func scriptResponse(_ client: BenchClient, _ scan: ScannedMessage, _ text: UnsafeRawBufferPointer) {
        let type = DeliveryScanner.string(text, scan.type)
        var code = ""
        if !scan.ok {
            code = scan.code.map { DeliveryScanner.string(text, $0) } ?? "unknown"
            counters.countError("\(type): \(code)")
        }
        let step = client.step
        if code == "rate_limited" && (step == LoadShard.stepRegister || step == LoadShard.stepLogin) {
            // A worker's password pool is full (PROTOCOL.md 3.5): try the same step again once
            // the server's retry_after_ms (1 s) has passed, as a well-behaved client would.
            loop.schedule(afterMs: 1000) { [weak self, weak client] in
                guard let self, let client, client.step == step else { return }
                step == LoadShard.stepRegister ? self.sendRegister(client) : self.sendLogin(client)
            }
            return
        }
        switch (step, type) {
        case (LoadShard.stepRegister, "register"):
            if scan.ok { counters.registered += 1 }
            if scan.ok || code == "conflict" {
                sendLogin(client)
            } else {
                client.step = 0
                scriptFinished()
            }
        case (LoadShard.stepLogin, "login"):
            if scan.ok, let token = (try? JSON.parse(text))?["token"]?.string {
                client.token = token
                counters.authenticated += 1
            }
            client.step = 0
            scriptFinished()
        case (LoadShard.stepGroup, "create_group"):
            if scan.ok, let id = (try? JSON.parse(text))?["chat"]?["id"]?.string {
                groupCreated(client, chatID: id)
            }
            client.step = 0
            scriptFinished()
        case (LoadShard.stepAuth, "auth"):
            if scan.ok {
                counters.authenticated += 1
                counters.reconnected += 1
                sendCatchUp(client, afterSeq: client.seqs.contiguousThrough)
            } else {
                client.step = 0
                workDone()
            }
        case (LoadShard.stepCatchUp, "get_messages"):
            guard scan.ok, let json = try? JSON.parse(text) else {
                client.step = 0
                workDone()
                return
            }
            let page = absorbPage(client, json)
            if page.hasMore && page.last > 0 {
                sendCatchUp(client, afterSeq: page.last)
            } else {
                counters.caughtUp += 1
                client.step = 0
                workDone()
            }
        case (_, "error") where step != 0 && step != LoadShard.stepAborted:
            // The server could not read the request (PROTOCOL.md 2: type "error"): the step failed.
            client.step = 0
            if phase == .authenticating || phase == .grouping { scriptFinished() } else { workDone() }
        default:
            break
        }
    }
}
