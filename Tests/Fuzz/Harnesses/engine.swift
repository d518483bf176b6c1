// engine: lines of JSON requests from several users run through a ShardEngine; answers, events and journal must agree.

#if canImport(Glibc)
import Glibc
#endif
import TagarelaJSON
import TagarelaModel
import TagarelaShard

/// Time and randomness for one input, fixed so that a crash replays exactly.
private final class World {
    var nowMs: Int64 = 1_704_067_200_000
    var random = SplitMix64(seed: 7)

    /// Fast hashing and short sessions, so that clock moves can expire them.
    var config: EngineConfig {
        EngineConfig(pbkdf2Iterations: 1, tokenTTLms: 3_600_000, clock: { [unowned self] in nowMs },
                     random: { [unowned self] count in (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) } })
    }
}

/// The users a line may act as ("" is a connection before authentication).
private let actors = ["", "ana", "bob", "carl"]
/// Group ids the gateway may hand to `create_group` ("" lets the engine mint one; g:fz1 exists).
private let groupIDs = ["", "g:fz1", "g:fz2", "g:0123456789abcdef01234567"]

/// A shard every input starts from, as journal records: three users with sessions, a direct
/// chat, a group and messages in both. Built once; each input replays it into a fresh engine.
private let start: (records: [[UInt8]], sessions: [String: String]) = {
    let world = World()
    let engine = ShardEngine(config: world.config)
    var records: [[UInt8]] = []
    var sessions: [String: String] = [:]
    func send(_ json: String, as user: String = "", arg: String = "") -> EngineResult {
        let result = finish(engine, engine.handle(EngineRequest(json: Array(json.utf8), userID: user, arg: arg)))
        require(!result.records.isEmpty, "seed request \(json) failed: \(String(decoding: result.response, as: UTF8.self))")
        records += result.records
        return result
    }
    for name in actors.dropFirst() {
        _ = send(#"{"type":"register","username":"\#(name)","password":"password-\#(name)"}"#)
        sessions[name] = send(#"{"type":"login","username":"\#(name)","password":"password-\#(name)"}"#).authSessionID
    }
    _ = send(#"{"type":"create_chat","user_id":"bob"}"#, as: "ana")
    _ = send(#"{"type":"create_group","group_name":"G","member_ids":["bob","carl"]}"#, as: "ana", arg: "g:fz1")
    _ = send(#"{"type":"message","chat_id":"d:ana:bob","content":"hi"}"#, as: "ana")
    _ = send(#"{"type":"message","chat_id":"g:fz1","content":"yo","client_msg_id":"c1"}"#, as: "bob")
    return (records, sessions)
}()

/// FUZZ_TRACE=1 prints every request and answer (to read what a crash input does).
private let trace = getenv("FUZZ_TRACE") != nil

/// Runs password jobs inline, as the worker's pool would (change_password needs two).
private func finish(_ engine: ShardEngine, _ step: EngineStep) -> EngineResult {
    var step = step
    while true {
        switch step {
        case .done(let result): return result
        case .needsPasswordHash(let job): step = engine.resume(job, derivedKey: job.derive())
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let world = World()
    let engine: ShardEngine
    do {
        engine = try ShardEngine.load(snapshot: nil, records: start.records, config: world.config)
    } catch {
        require(false, "the seed journal does not replay: \(error)")
        return 0
    }
    var records = start.records
    // One request per line: a control byte, then the JSON. JSON text never holds a raw newline.
    let lines = UnsafeBufferPointer(start: data, count: size).split(separator: UInt8(ascii: "\n")).prefix(64)
    for line in lines {
        let control = line.first!
        let actor = actors[Int(control & 3)]
        // Bits 5-6 move the clock: not at all, a second, or past the session lifetime.
        let advanceMs: Int64 = [0, 0, 1000, 7_200_000][Int(control >> 5) & 3]
        if advanceMs > 0 {
            world.nowMs += advanceMs
            records += engine.purgeExpiredSessions()
        }
        let request = EngineRequest(json: Array(line.dropFirst()), userID: actor,
                                    sessionID: control & 0x80 != 0 ? "unknown-session" : start.sessions[actor] ?? "",
                                    arg: groupIDs[Int(control >> 3) & 3], isInternal: control & 4 != 0, connectionID: 1)
        let result = finish(engine, engine.handle(request))
        if trace {
            print("\(actor.isEmpty ? "-" : actor) \(String(decoding: request.json, as: UTF8.self))\n  -> \(String(decoding: result.response, as: UTF8.self))")
        }
        check(request, result)
        records += result.records
    }
    // The journal rebuilds the same state, and so does the snapshot.
    let state = engine.snapshot()
    do {
        let replayed = try ShardEngine.load(snapshot: nil, records: records, config: world.config)
        require(replayed.snapshot() == state, "replaying the journal gives another state")
        let reloaded = try ShardEngine.load(snapshot: state, records: [], config: world.config)
        require(reloaded.snapshot() == state, "reloading the snapshot gives another state")
    } catch {
        require(false, "the engine's own journal or snapshot does not load: \(error)")
    }
    return 0
}

/// The answer is one JSON object saying ok or error, a refusal changes nothing, every event is
/// a JSON object with a type, and a page of messages is what its cursor asked for.
private func check(_ request: EngineRequest, _ result: EngineResult) {
    let text = String(decoding: result.response, as: UTF8.self)
    guard let response = try? JSON.parse(result.response), response.object != nil else {
        return require(false, "the response is not a JSON object: \(text)")
    }
    require(response["type"]?.string != nil, "no type in \(text)")
    switch response["status"]?.string {
    case "ok":
        if response["type"] == "get_messages", let asked = try? JSON.parse(request.json) { checkPage(asked, response, text) }
    case "error":
        require(response["code"]?.string != nil, "an error without a code: \(text)")
        require(result.records.isEmpty, "a refused request wrote \(result.records.count) records: \(text)")
    default:
        require(false, "no status in \(text)")
    }
    for event in result.events {
        let json = try? JSON.parse(event.json)
        require(json?["type"]?.string != nil, "a malformed event: \(String(decoding: event.json, as: UTF8.self))")
    }
}

/// PROTOCOL.md get_messages: consecutive ascending seqs, at most `limit`, inside the cursor;
/// `has_more` is true exactly when older messages exist (no cursor, `before_seq`), and false
/// whenever an `after_seq` page is not full.
private func checkPage(_ asked: JSON, _ response: JSON, _ text: String) {
    guard let messages = response["messages"]?.array, let hasMore = response["has_more"]?.bool else {
        return require(false, "a page without messages or has_more: \(text)")
    }
    let seqs = messages.compactMap { $0["seq"]?.int }
    require(seqs.count == messages.count && zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 },
            "seqs not consecutive: \(text)")
    let limit = asked["limit"]?.int ?? Int64(FieldLimits.messagesLimitDefault)
    require(seqs.count <= limit, "more than \(limit) messages: \(text)")
    if let after = asked["after_seq"]?.int {
        require(seqs.first.map { $0 == after + 1 } ?? true, "the page does not start after \(after): \(text)")
        require(!hasMore || seqs.count == limit, "has_more on a page that is not full: \(text)")
    } else {
        if let before = asked["before_seq"]?.int { require(seqs.last.map { $0 < before } ?? true, "a seq not before \(before): \(text)") }
        require(hasMore == (seqs.first ?? 1 > 1), "has_more is \(hasMore) for seqs \(seqs.first ?? 0)...: \(text)")
    }
}
