// Session: one client connection's request logic as a value (identity, request order, backpressure, owed answers, multi-shard requests): events in, actions out.
import TagarelaLink
import TagarelaModel
import TagarelaSystem
import TagarelaWire

/// The `type` and `request_id` an answer must carry (PROTOCOL.md 2).
struct RequestLabel {
    var type: String
    var requestID: String?
    /// The request's type when it is a known one (the request-duration histogram's label).
    var requestType: RequestType? = nil
    /// When the request's last byte was read (`SessionContext.monotonicNs`), 0 when not timed.
    var arrivedNs: Int64 = 0
}

/// What a forwarded request's answer is for, carried back with it.
enum ReplyTag {
    /// The client's own request: the worker's reply is its answer.
    case answer(RequestLabel)
    /// Part `part` of the multi-shard request `plan` (an existence check, a scatter part).
    case step(plan: UInt32, part: Int)
    /// The `SessionCheck` of `sessionID`, asked when the connection was bound to its user.
    case sessionCheck(sessionID: String)
    /// The same check asked again when the link to the user's shard came back.
    case sessionRecheck(sessionID: String)
}

/// What happens to a session.
enum SessionEvent {
    /// A complete client message (a WebSocket message or an NDJSON line), valid only during the call.
    case request(UnsafeRawBufferPointer)
    /// A complete client message that is not one item of its encoding (a CBOR message that does
    /// not decode): answered `bad_request` like malformed JSON, in turn and rate-limited alike.
    case undecodable(RequestFailure)
    /// A worker answered a request this session forwarded.
    case reply(ReplyTag, LinkReply)
    /// A forwarded request will not be answered: its link dropped, or its deadline passed.
    case failed(ReplyTag)
    /// The worker link this session waited for (`park`) drained.
    case linkDrained
    /// Another connection's logout ended `sessionID` of this session's user
    /// (`SessionScope.everySession`: all of them).
    case sessionEnded(sessionID: String, reason: String)
    /// The link to the user's shard came back and resubscribed: check the bound session again.
    case linkResubscribed
    /// The periodic sweep (the deadline of a close for abuse).
    case tick
    /// The connection is closing (its close frame is out, or it is gone): it leaves its user's
    /// fan-out and is never bound again.
    case ending
}

/// What the connection (and through it the loop) must do, in the order given.
enum SessionAction {
    /// Send `request` to worker `shard` (the caller checked the link is up through
    /// `SessionContext.linkState`); its answer comes back as `.reply(tag, …)` or `.failed(tag)`.
    /// The carrier fills in the request id and, for a client request, the connection id.
    case forward(shard: Int, request: LinkRequest, tag: ReplyTag)
    /// Write this JSON to the client (a text frame, an NDJSON line).
    case send([UInt8])
    case pauseReading
    /// Reading may resume (an unfinished line or message gets a fresh deadline).
    case resumeReading
    /// Tell this session `.linkDrained` once worker `shard`'s link drains.
    case park(shard: Int)
    /// Add the connection to `userID`'s fan-out, leaving `replacing`'s ("" if none).
    case bind(userID: String, replacing: String)
    /// Remove the connection from `userID`'s fan-out.
    case unbind(userID: String)
    /// Tell every other connection of `userID`, on every loop, that `sessionID` ended.
    case endSessions(userID: String, sessionID: String, reason: String)
    /// Close the connection (for WebSocket with this code and reason, for NDJSON after the flush).
    case close(code: CloseCode, reason: String)
    /// Count this in `/metrics`.
    case count(SessionCounter)
    /// Write this line to the log.
    case log(String)
}

/// The `/metrics` counters a session moves.
enum SessionCounter {
    case request(RequestType)
    case invalid
    case rateLimited
    case unauthenticated
    case unavailable
    case sessionEnded
    case backpressurePause
    /// A request of `type` read at `arrivedNs` got its answer now (the request-duration histogram).
    case answered(RequestType, arrivedNs: Int64)
}

/// Whether a worker link takes requests.
enum LinkState {
    /// Down or unresponsive: requests for it are answered `unavailable` at once.
    case down
    case ready
    /// Up, but past its in-flight or queued-bytes bound: its senders wait until it drains.
    case busy
}

/// The settings every session of a loop shares (one object, so reading them copies nothing).
final class SessionSettings {
    let workers: Int
    let limits: Limits
    let policy: RateLimitPolicy

    /// True when links ride the bus: other gateways hold connections too, so `get_presence` is
    /// answered by a worker, which knows every gateway loop's subscriptions (PROTOCOL.md 3.8).
    let presenceFromWorkers: Bool

    init(workers: Int, limits: Limits, policy: RateLimitPolicy, presenceFromWorkers: Bool = false) {
        self.workers = workers
        self.limits = limits
        self.policy = policy
        self.presenceFromWorkers = presenceFromWorkers
    }
}

/// What a session may read of the world around it while it handles an event. Reads only: what
/// it changes, it says with actions.
protocol SessionContext {
    var nowMs: Int64 { get }
    /// The connection is closed or closing: nothing more is forwarded for it.
    var isClosed: Bool { get }
    var settings: SessionSettings { get }
    /// The client's address (host only), which a login carries to the shard's throttle.
    var peerHost: String { get }
    func linkState(_ shard: Int) -> LinkState
    /// Whether each user is online (`get_presence`).
    func presence(_ userIDs: [String]) -> [Bool]
    /// Takes one of `userID`'s group creations, or says how long to wait for one.
    func takeGroupQuota(_ userID: String) -> Int64?
    /// Takes `bytes` of `userID`'s attachment quota, or says how long to wait for them.
    func takeAttachmentQuota(_ userID: String, bytes: Int) -> Int64?
    /// Monotonic nanoseconds now (the request-duration histogram).
    var monotonicNs: Int64 { get }
    /// The connection gets its user's events and session ends (false for an HTTP attachment
    /// request, which authenticates only to be routed): only such a binding is checked.
    var receivesEvents: Bool { get }
}

extension SessionContext {
    var monotonicNs: Int64 { Clock.monotonicNs() }
    var receivesEvents: Bool { true }
}

/// One client connection's requests, from the moment a message is complete to its answer
/// (README.md "How it is built", Gateway), with no socket: the connection feeds it events and carries out
/// the actions it emits, as it does for `WebSocketConnection`, so ordering, backpressure,
/// scatter-gather and the abuse close are tested without sockets (`SessionTests`).
///
/// - Identity: the user and session a login/register/auth bound, cleared by logout.
/// - Order: requests after an identity-changing one (register, login, auth, logout,
///   logout_all, change_password) wait for its answer, so a pipelined `register` then `login`
///   works and later requests run as the new user; so do requests read while a link is busy.
///   Reading pauses meanwhile, so what waits is at most one read's worth.
/// - Owed answers: every request let through the rate limiter gets exactly one answer; a
///   connection closed for ignoring `rate_limited` gets those answers first (PROTOCOL.md 2.5).
/// - Multi-shard requests in progress (`SessionPlans`).
///
/// `emit` must not touch the session (it is being mutated), and no action may lead back into
/// it during the call; other sessions are fine.
struct Session {
    // Declared so the flags share the limiter's tail padding: every connection holds one.
    /// The authenticated user and session ("" before auth).
    private(set) var userID = ""
    private(set) var sessionID = ""
    private var limiter = RateLimiter()
    /// An identity-changing request of this connection is in flight.
    private(set) var awaitingIdentity = false
    /// A worker link this connection sent to is busy.
    private(set) var pausedForLink = false
    /// Reading was paused by this session (hold, busy link, abuse close).
    private var readingPaused = false
    /// Closing for rate-limit abuse: nothing more is handled; owed answers go out first.
    private(set) var closingForAbuse = false
    /// The connection is closing: it is never bound again.
    private var ended = false
    /// Requests let through but not yet handled, oldest first.
    private var held: [(envelope: RequestEnvelope, bytes: [UInt8], arrivedNs: Int64)] = []
    /// Requests let through the rate limiter and not answered yet.
    private(set) var unanswered = 0
    /// While closing for abuse: when the wait for the owed answers ends (0 once it has).
    private var answersDeadlineMs: Int64 = 0
    var plans = SessionPlans()

    init() {}

    /// Requests read and waiting their turn.
    var heldCount: Int { held.count }
    /// New requests queue behind the held ones rather than run now.
    var isHolding: Bool { awaitingIdentity || pausedForLink || !held.isEmpty }
    /// Closing for abuse and still waiting for the answers it owes (no idle pings meanwhile).
    var isWaitingToClose: Bool { closingForAbuse && answersDeadlineMs != 0 }

    /// Handles `event`, emitting what must be done.
    mutating func receive<C: SessionContext>(_ event: SessionEvent, _ context: C, _ emit: (SessionAction) -> Void) {
        switch event {
        case .request(let payload):
            admit(RequestEnvelope.parse(payload), payload, context, emit)
        case .undecodable(let failure):
            admit(.invalid(failure), UnsafeRawBufferPointer(start: nil, count: 0), context, emit)
        case .reply(let tag, let reply):
            replied(tag, reply, context, emit)
        case .failed(let tag):
            failed(tag, context, emit)
        case .linkDrained:
            guard pausedForLink else { return }
            pausedForLink = false
            releaseHeld(context, emit)
        case .sessionEnded(let id, let reason):
            guard !userID.isEmpty, id == SessionScope.everySession || id == sessionID else { return }
            unbind(emit)
            emit(.send(Events.sessionEnded(reason: reason)))
            emit(.count(.sessionEnded))
        case .linkResubscribed:
            recheckSessionLive(context, emit)
        case .tick:
            if isWaitingToClose && context.nowMs >= answersDeadlineMs { finishClosingForAbuse(emit) }
        case .ending:
            ended = true
            unbind(emit)
            if context.isClosed {
                held = []
                plans = SessionPlans()
            }
        }
    }

    // MARK: - Admission

    /// Rate-limits a new request, then handles it now or holds it behind the ones before it.
    private mutating func admit<C: SessionContext>(_ envelope: @autoclosure () -> RequestEnvelope,
                                                   _ payload: UnsafeRawBufferPointer, _ c: C,
                                                   _ emit: (SessionAction) -> Void) {
        // Closing for abuse: what follows the request that crossed the line is not handled.
        guard !closingForAbuse else { return }
        let envelope = envelope()
        let arrivedNs = c.monotonicNs
        switch limiter.admit(nowMs: c.nowMs, policy: c.settings.policy) {
        case .allowed:
            break
        case .limited(let retryMs):
            refuse(envelope.label, retryMs, emit)
            return
        case .limitedAndClose(let retryMs):
            refuse(envelope.label, retryMs, emit)
            // PROTOCOL.md 2.5: more than 100 `rate_limited` in 10 s closes (WebSocket 1008),
            // once the requests let through before are answered.
            closeForAbuse(c, emit)
            return
        }
        // Let through: it gets exactly one answer, which a close for abuse waits for.
        unanswered += 1
        if isHolding {
            // Read once: the envelope waits with its bytes (forwarded as they are).
            held.append((envelope, Array(payload), arrivedNs))
            return
        }
        process(envelope, payload, held: nil, arrivedNs: arrivedNs, c, emit)
    }

    /// `rate_limited` is not an answer: the request was not let through.
    private func refuse(_ label: RequestLabel, _ retryMs: Int, _ emit: (SessionAction) -> Void) {
        emit(.count(.rateLimited))
        emit(.send(Responses.rateLimited(type: label.type, requestID: label.requestID, retryAfterMs: Int64(retryMs))))
    }

    // MARK: - Order

    /// Later requests wait until the identity request just forwarded is answered.
    mutating func holdUntilIdentitySettles(_ emit: (SessionAction) -> Void) {
        awaitingIdentity = true
        pauseReading(emit)
    }

    /// Waits for worker `shard`'s link to drain when it is busy after a send.
    mutating func waitIfBusy<C: SessionContext>(_ shard: Int, _ c: C, _ emit: (SessionAction) -> Void) {
        guard !pausedForLink, !c.isClosed, c.linkState(shard) == .busy else { return }
        pausedForLink = true
        pauseReading(emit)
        emit(.park(shard: shard))
        emit(.count(.backpressurePause))
    }

    private mutating func pauseReading(_ emit: (SessionAction) -> Void) {
        guard !readingPaused else { return }
        readingPaused = true
        emit(.pauseReading)
    }

    /// Nothing holds the session any more (its identity request was answered, or its link
    /// drained): runs what waited, in order, until one of them holds it again; reading resumes
    /// once nothing waits (never while closing for abuse).
    mutating func releaseHeld<C: SessionContext>(_ c: C, _ emit: (SessionAction) -> Void) {
        while !awaitingIdentity && !pausedForLink && !held.isEmpty && !c.isClosed {
            let next = held.removeFirst()
            next.bytes.withUnsafeBytes { process(next.envelope, $0, held: next.bytes, arrivedNs: next.arrivedNs, c, emit) }
        }
        if c.isClosed {
            held = []
        } else if !isHolding && readingPaused && !closingForAbuse {
            readingPaused = false
            emit(.resumeReading)
        }
    }

    /// Marks the end of the identity request `label` names, when it is one: only its own
    /// answer (or failure) may release the requests behind it, not an earlier request's.
    mutating func settleIdentity(_ label: RequestLabel) {
        if RequestType(rawValue: label.type)?.changesIdentity == true { awaitingIdentity = false }
    }

    // MARK: - Identity

    mutating func bind(_ user: String, session: String, _ emit: (SessionAction) -> Void) {
        guard !ended else { return }
        if user == userID {
            sessionID = session
            return
        }
        let previous = userID
        userID = user
        sessionID = session
        emit(.bind(userID: user, replacing: previous))
    }

    mutating func unbind(_ emit: (SessionAction) -> Void) {
        guard !userID.isEmpty else { return }
        let user = userID
        userID = ""
        sessionID = ""
        emit(.unbind(userID: user))
    }

    // MARK: - Answers

    /// Sends the one answer of a request that was let through. A connection closing for abuse
    /// closes once the last answer it is owed has gone out.
    mutating func answer(_ json: [UInt8], _ label: RequestLabel, _ emit: (SessionAction) -> Void) {
        emit(.send(json))
        if let type = label.requestType, label.arrivedNs != 0 { emit(.count(.answered(type, arrivedNs: label.arrivedNs))) }
        unanswered -= 1
        if isWaitingToClose && unanswered <= 0 { finishClosingForAbuse(emit) }
    }

    /// Ends the connection for ignoring `rate_limited` (PROTOCOL.md 2.5). Nothing more is read
    /// or handled, but the requests let through before may have been stored and delivered to
    /// others, so their answers go out first, within `Limits.closingAnswersWaitMs`.
    private mutating func closeForAbuse<C: SessionContext>(_ c: C, _ emit: (SessionAction) -> Void) {
        closingForAbuse = true
        pauseReading(emit)
        answersDeadlineMs = c.nowMs + c.settings.limits.closingAnswersWaitMs
        if unanswered <= 0 { finishClosingForAbuse(emit) }
    }

    static let abuseReason = "rate limit exceeded"

    /// The answers are out, or the wait for them is over: the close itself (WebSocket 1008
    /// with the closing handshake, NDJSON after the flush).
    private mutating func finishClosingForAbuse(_ emit: (SessionAction) -> Void) {
        answersDeadlineMs = 0
        ended = true
        unbind(emit)
        emit(.close(code: .policyViolation, reason: Session.abuseReason))
    }
}
