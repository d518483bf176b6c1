// GatewayMetrics: the counters each loop keeps, their sum over loops, and the Prometheus text rendering.
import enum TagarelaModel.RequestType
import enum TagarelaLink.WorkerStatsFile

/// Counters owned by one loop and touched only on its thread; `/metrics` gathers a copy from
/// every loop through `EventLoop.execute` and sums them, so no counter needs an atomic.
public struct LoopCounters: Sendable {
    /// Open connections still sniffing or reading their HTTP head.
    public var connectionsPending = 0
    public var connectionsWebSocket = 0
    public var connectionsNDJSON = 0
    public var connectionsEcho = 0
    public var connectionsAccepted = 0
    public var connectionsRefused = 0
    public var handshakesAccepted = 0
    public var handshakesRefused = 0
    public var handshakeTimeouts = 0
    public var httpRequests = 0
    public var framesIn = 0
    public var framesOut = 0
    public var bytesIn = 0
    public var bytesOut = 0
    /// Requests by `RequestType.index`.
    public var requestsByType = [Int](repeating: 0, count: RequestType.allCases.count)
    public var requestsInvalid = 0
    public var rateLimited = 0
    public var unauthenticated = 0
    public var unavailable = 0
    public var eventsReceived = 0
    /// Event copies written to client connections (one event to three connections counts three).
    public var deliveries = 0
    public var sessionsEnded = 0
    public var backpressurePauses = 0
    /// Connections closed for an unfinished line or message: past its deadline, or among the
    /// biggest holders when the loop held more than its share (`Limits.partialInputBytesMax`).
    public var partialInputTimeouts = 0
    public var partialInputEvictions = 0
    /// Bytes of unfinished input held right now (a gauge, filled in when gathered).
    public var partialInputBytes = 0
    /// User ids sent to workers in `subscribe` / `unsubscribe` link frames (one per link).
    public var linkSubscribes = 0
    public var linkUnsubscribes = 0
    /// Per worker: 1 when this loop's link to it is connected.
    public var workerLinkUp: [Int] = []
    public var workerInFlight: [Int] = []
    /// Per worker: requests answered `unavailable` because the worker passed their deadline.
    public var workerRequestTimeouts: [Int] = []
    /// Per worker: 1 while this loop's link to it misses its heartbeat.
    public var workerLinkUnresponsive: [Int] = []
    /// permessage-deflate (filled in from the loop's `LoopCompression` when gathered).
    public var deflate = DeflateCounters()

    public init(workers: Int = 0) {
        workerLinkUp = [Int](repeating: 0, count: workers)
        workerInFlight = [Int](repeating: 0, count: workers)
        workerRequestTimeouts = [Int](repeating: 0, count: workers)
        workerLinkUnresponsive = [Int](repeating: 0, count: workers)
    }

    /// Moves the open-connection gauge of transport `t` by `delta`.
    mutating func adjustTransport(_ t: ClientTransport, by delta: Int) {
        switch t {
        case .pending, .http: connectionsPending += delta
        case .webSocket: connectionsWebSocket += delta
        case .echo: connectionsEcho += delta
        case .ndjson: connectionsNDJSON += delta
        }
    }

    /// Adds `other` into `self`; link status is summed (so the total is "loops with the link up").
    public mutating func add(_ other: LoopCounters) {
        connectionsPending += other.connectionsPending
        connectionsWebSocket += other.connectionsWebSocket
        connectionsNDJSON += other.connectionsNDJSON
        connectionsEcho += other.connectionsEcho
        connectionsAccepted += other.connectionsAccepted
        connectionsRefused += other.connectionsRefused
        handshakesAccepted += other.handshakesAccepted
        handshakesRefused += other.handshakesRefused
        handshakeTimeouts += other.handshakeTimeouts
        httpRequests += other.httpRequests
        framesIn += other.framesIn
        framesOut += other.framesOut
        bytesIn += other.bytesIn
        bytesOut += other.bytesOut
        for i in 0..<min(requestsByType.count, other.requestsByType.count) {
            requestsByType[i] += other.requestsByType[i]
        }
        requestsInvalid += other.requestsInvalid
        rateLimited += other.rateLimited
        unauthenticated += other.unauthenticated
        unavailable += other.unavailable
        eventsReceived += other.eventsReceived
        deliveries += other.deliveries
        sessionsEnded += other.sessionsEnded
        backpressurePauses += other.backpressurePauses
        partialInputTimeouts += other.partialInputTimeouts
        partialInputEvictions += other.partialInputEvictions
        partialInputBytes += other.partialInputBytes
        linkSubscribes += other.linkSubscribes
        linkUnsubscribes += other.linkUnsubscribes
        deflate.add(other.deflate)
        if workerLinkUp.count < other.workerLinkUp.count {
            workerLinkUp += [Int](repeating: 0, count: other.workerLinkUp.count - workerLinkUp.count)
            workerInFlight += [Int](repeating: 0, count: other.workerInFlight.count - workerInFlight.count)
            workerRequestTimeouts += [Int](repeating: 0, count: other.workerRequestTimeouts.count - workerRequestTimeouts.count)
            workerLinkUnresponsive += [Int](repeating: 0, count: other.workerLinkUnresponsive.count - workerLinkUnresponsive.count)
        }
        for i in 0..<other.workerLinkUp.count {
            workerLinkUp[i] += other.workerLinkUp[i]
            workerInFlight[i] += other.workerInFlight[i]
            workerRequestTimeouts[i] += other.workerRequestTimeouts[i]
            workerLinkUnresponsive[i] += other.workerLinkUnresponsive[i]
        }
    }
}

/// Renders summed counters in the Prometheus text exposition format (version 0.0.4).
public enum MetricsRenderer {
    /// The `Content-Type` of the rendered text.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The exposition text for `c`, gathered over `loops` loops, with `onlineUsers` from presence
    /// and each worker's stats file (`workerStats[k]`, nil when it has none).
    public static func render(_ c: LoopCounters, loops: Int, onlineUsers: Int, workerStats: [[String: Int]?] = []) -> String {
        var out = ""
        out.reserveCapacity(4096)
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Int)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples {
                out += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(labels)} \(value)\n"
            }
        }
        metric("tagarela_connections", "gauge", "Open client connections by transport.", [
            ("transport=\"pending\"", c.connectionsPending),
            ("transport=\"websocket\"", c.connectionsWebSocket),
            ("transport=\"ndjson\"", c.connectionsNDJSON),
            ("transport=\"echo\"", c.connectionsEcho),
        ])
        metric("tagarela_connections_accepted_total", "counter", "Client connections accepted.",
               [("", c.connectionsAccepted)])
        metric("tagarela_connections_refused_total", "counter", "Client connections refused by a connection limit.",
               [("", c.connectionsRefused)])
        metric("tagarela_handshakes_total", "counter", "WebSocket handshakes by result.", [
            ("result=\"accepted\"", c.handshakesAccepted),
            ("result=\"refused\"", c.handshakesRefused),
            ("result=\"timeout\"", c.handshakeTimeouts),
        ])
        metric("tagarela_http_requests_total", "counter", "Plain HTTP requests answered.", [("", c.httpRequests)])
        metric("tagarela_frames_total", "counter", "Client messages (WebSocket messages or NDJSON lines).", [
            ("direction=\"in\"", c.framesIn), ("direction=\"out\"", c.framesOut),
        ])
        metric("tagarela_bytes_total", "counter", "Client bytes read and queued for writing.", [
            ("direction=\"in\"", c.bytesIn), ("direction=\"out\"", c.bytesOut),
        ])
        metric("tagarela_requests_total", "counter", "Client requests by type.",
               RequestType.clientTypes.map { ("type=\"\($0.rawValue)\"", c.requestsByType[$0.index]) })
        metric("tagarela_request_errors_total", "counter", "Requests answered by the gateway with an error.", [
            ("code=\"bad_request\"", c.requestsInvalid),
            ("code=\"rate_limited\"", c.rateLimited),
            ("code=\"unauthenticated\"", c.unauthenticated),
            ("code=\"unavailable\"", c.unavailable),
        ])
        metric("tagarela_events_total", "counter", "Events received from workers, counted once per gateway loop (a worker sends an event only to the loops holding one of its users).", [("", c.eventsReceived)])
        metric("tagarela_deliveries_total", "counter", "Event copies written to client connections.",
               [("", c.deliveries)])
        metric("tagarela_sessions_ended_total", "counter", "Connections unbound by a logout elsewhere.",
               [("", c.sessionsEnded)])
        metric("tagarela_backpressure_pauses_total", "counter", "Client reads paused for a busy worker link.",
               [("", c.backpressurePauses)])
        metric("tagarela_partial_input_closes_total", "counter",
               "Connections closed for unfinished input: past its deadline, or the biggest holders past the total.",
               [("reason=\"timeout\"", c.partialInputTimeouts), ("reason=\"total\"", c.partialInputEvictions)])
        metric("tagarela_partial_input_bytes", "gauge", "Bytes held for unfinished lines, messages and HTTP heads.",
               [("", c.partialInputBytes)])
        metric("tagarela_link_subscriptions_total", "counter",
               "User ids sent to workers in subscribe/unsubscribe link frames (once per worker link).",
               [("op=\"subscribe\"", c.linkSubscribes), ("op=\"unsubscribe\"", c.linkUnsubscribes)])
        c.deflate.render(into: &out)
        metric("tagarela_online_users", "gauge", "Users with at least one authenticated connection.",
               [("", onlineUsers)])
        metric("tagarela_event_loops", "gauge", "Gateway event loops.", [("", loops)])
        metric("tagarela_worker_links_up", "gauge", "Loops whose link to the worker is connected.",
               c.workerLinkUp.enumerated().map { ("worker=\"\($0.offset)\"", $0.element) })
        metric("tagarela_worker_in_flight", "gauge", "Requests waiting for the worker's reply.",
               c.workerInFlight.enumerated().map { ("worker=\"\($0.offset)\"", $0.element) })
        metric("tagarela_worker_request_timeouts_total", "counter",
               "Requests answered unavailable because the worker did not answer within the request deadline.",
               c.workerRequestTimeouts.enumerated().map { ("worker=\"\($0.offset)\"", $0.element) })
        metric("tagarela_worker_links_unresponsive", "gauge", "Loops whose link to the worker misses its heartbeat.",
               c.workerLinkUnresponsive.enumerated().map { ("worker=\"\($0.offset)\"", $0.element) })
        metric("tagarela_journal_corrupt_records", "gauge",
               "Journal records with a bad checksum cut at the worker's startup, their bytes kept in side files "
               + "(journal-G.log.corrupt-*) in its shard folder until an operator removes them.",
               workerStats.enumerated().compactMap { k, stats in
                   stats?[WorkerStatsFile.journalCorruptRecords].map { ("worker=\"\(k)\"", $0) }
               })
        return out
    }
}

extension RequestType {
    /// A dense index into `LoopCounters.requestsByType`; a switch, since it runs on every request.
    var index: Int {
        switch self {
        case .register: return 0
        case .login: return 1
        case .auth: return 2
        case .logout: return 3
        case .searchUsers: return 4
        case .createChat: return 5
        case .createGroup: return 6
        case .addGroupMember: return 7
        case .removeGroupMember: return 8
        case .getUserChats: return 9
        case .message: return 10
        case .getMessages: return 11
        case .markRead: return 12
        case .typing: return 13
        case .getPresence: return 14
        case .usersExist: return 15
        case .userChats: return 16
        case .leaveGroup: return 17
        case .logoutAll: return 18
        case .changePassword: return 19
        case .getAttachment: return 20
        }
    }
}
