// SessionProbe: drives one gateway Session with no socket: a fake context (clock, links, presence) and the actions it emitted, in words.
import TagarelaJSON
import TagarelaLink
import TagarelaModel
import TagarelaWire
@testable import TagarelaGateway

/// The world a session sees in these tests. Each link is busy once `inFlight[k]` reaches
/// `inFlightMax`, as a `WorkerLink` is, and `down[k]` makes it unavailable.
final class FakeSessionContext: SessionContext {
    var nowMs: Int64 = 1_000
    /// The request-duration clock (SessionContext.monotonicNs), moved by timing tests.
    var monotonicNs: Int64 = 1_000_000
    var peerHost = "192.0.2.7"
    var isClosed = false
    let settings: SessionSettings
    var down: [Bool]
    var inFlight: [Int]
    var inFlightMax = 1_000
    var online: Set<String> = []

    init(workers: Int, limits: Limits) {
        let policy = RateLimitPolicy(ratePerSecond: limits.requestsPerSecond, burst: limits.requestBurst,
                                     strikesMax: limits.rateLimitedErrorsMax, strikeWindowMs: limits.rateLimitedWindowMs)
        settings = SessionSettings(workers: workers, limits: limits, policy: policy)
        down = [Bool](repeating: false, count: workers)
        inFlight = [Int](repeating: 0, count: workers)
    }

    func linkState(_ shard: Int) -> LinkState {
        down[shard] ? .down : inFlight[shard] >= inFlightMax ? .busy : .ready
    }

    func presence(_ userIDs: [String]) -> [Bool] { userIDs.map { online.contains($0) } }
    func takeGroupQuota(_ userID: String) -> Int64? { nil }
    func takeAttachmentQuota(_ userID: String, bytes: Int) -> Int64? { nil }
}

/// One session, its context, and what it did.
final class SessionProbe {
    var session = Session()
    let context: FakeSessionContext
    /// Every action since the last `take()`.
    private(set) var actions: [SessionAction] = []
    /// Every forward still unanswered, oldest first.
    private(set) var forwards: [(shard: Int, request: LinkRequest, tag: ReplyTag)] = []

    init(workers: Int = 1, configure: (inout Limits) -> Void = { _ in }) {
        var limits = Limits()
        configure(&limits)
        context = FakeSessionContext(workers: workers, limits: limits)
    }

    func receive(_ event: SessionEvent) {
        session.receive(event, context) { action in
            if case .forward(let shard, let request, let tag) = action {
                forwards.append((shard, request, tag))
                context.inFlight[shard] += 1
            }
            actions.append(action)
        }
    }

    /// One complete client message.
    func request(_ json: String) {
        Array(json.utf8).withUnsafeBytes { receive(.request($0)) }
    }

    /// The actions since the last call, in words (counters left out).
    func take() -> [String] {
        defer { actions = [] }
        return actions.compactMap(SessionProbe.describe)
    }

    /// The unanswered forward of the client request `requestID`, or of `type` for internal ones.
    private func takeForward(_ name: String, shard: Int? = nil) -> (shard: Int, request: LinkRequest, tag: ReplyTag) {
        let index = forwards.firstIndex { f in
            let text = String(decoding: f.request.json, as: UTF8.self)
            return (Canned.field("request_id", in: text) == name || Canned.field("type", in: text) == name)
                && (shard == nil || f.shard == shard)
        }
        precondition(index != nil, "no forward of \(name)")
        let f = forwards.remove(at: index!)
        context.inFlight[f.shard] -= 1
        return f
    }

    /// The worker answers the forward of `name` with `status: ok` and `extra` members.
    func answer(_ name: String, shard: Int? = nil, extra: String = "", authUserID: String = "", authSessionID: String = "",
                endSessionID: String = "", endUserID: String = "") {
        let f = takeForward(name, shard: shard)
        receive(.reply(f.tag, LinkReply(requestID: 0, json: Canned.ok(f.request, extra: extra), authUserID: authUserID,
                                        authSessionID: authSessionID, endSessionID: endSessionID, endUserID: endUserID)))
    }

    /// The forward of `name` fails (its link dropped, or its deadline passed).
    func fail(_ name: String, shard: Int? = nil) {
        receive(.failed(takeForward(name, shard: shard).tag))
    }

    /// The shard answers the oldest session check: the session is `live` or gone.
    func answerSessionCheck(live: Bool) {
        answerSessionCheck(json: SessionCheck.answer(live: live))
    }

    /// The shard answers the oldest session check with `json` (what a worker that does not know
    /// the check answers, say).
    func answerSessionCheck(json: [UInt8]) {
        let f = takeForward(SessionCheck.arg)
        receive(.reply(f.tag, LinkReply(requestID: 0, json: json)))
    }

    /// Logs in as `user` with session `session` (its session check answered live) and forgets
    /// what that emitted.
    func logIn(_ user: String, session: String = "s1") {
        request(#"{"type":"login","request_id":"login-\#(user)","username":"\#(user)","password":"pw"}"#)
        answer("login-\(user)", authUserID: user, authSessionID: session)
        answerSessionCheck(live: true)
        _ = take()
    }

    static func describe(_ action: SessionAction) -> String? {
        switch action {
        case .forward(let shard, let request, _):
            let text = String(decoding: request.json, as: UTF8.self)
            let name = request.isInternal ? Canned.field("type", in: text) ?? "?" : Canned.field("request_id", in: text) ?? "?"
            return "forward \(name) to \(shard) as \(request.userID.isEmpty ? "-" : request.userID)"
        case .send(let json):
            let value = try? JSON.parse(json)
            if value?["type"]?.string == "session:ended" {
                return "send session:ended \(value?["payload"]?["reason"]?.string ?? "?")"
            }
            let name = value?["request_id"]?.string ?? value?["type"]?.string ?? "?"
            return "send \(name) \(value?["code"]?.string ?? value?["status"]?.string ?? "?")"
        case .pauseReading: return "pause"
        case .resumeReading: return "resume"
        case .park(let shard): return "park \(shard)"
        case .bind(let user, let previous): return "bind \(user)" + (previous.isEmpty ? "" : " replacing \(previous)")
        case .unbind(let user): return "unbind \(user)"
        case .endSessions(let user, let sessionID, let reason): return "end \(user) \(sessionID) \(reason)"
        case .close(let code, _): return "close \(code.rawValue)"
        case .count: return nil
        case .log: return "log"
        }
    }
}
