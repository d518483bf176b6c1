// EngineHarness: drives a ShardEngine like the worker does (fixed clock, seeded randomness, inline hashing, a journal).

import TagarelaJSON
import TagarelaShard
import TestSupport
import XCTest

/// One engine plus everything a test needs around it. Password jobs run inline; every
/// record is appended to `journal` so tests can replay it.
final class EngineHarness {
    let clock = EngineFixedClock()
    let rng = EngineRandomBox(seed: 7)
    var owns: (String) -> Bool = { _ in true }
    var engine: ShardEngine!
    var journal: [[UInt8]] = []
    /// Sessions from `login`, by username.
    var sessions: [String: String] = [:]

    /// A fresh engine; `tune` changes its settings (limits) first.
    init(tune: (inout EngineConfig) -> Void = { _ in }) {
        var settings = config
        tune(&settings)
        engine = ShardEngine(config: settings)
    }

    var config: EngineConfig {
        let clock = self.clock
        let rng = self.rng
        return EngineConfig(pbkdf2Iterations: 2, tokenTTLms: 60_000, clock: { clock.nowMs }, random: { rng.bytes($0) },
                            ownsUser: { [unowned self] in self.owns($0) })
    }

    /// Sends `json` as `user` and returns the finished result (running any password job).
    @discardableResult
    func send(_ json: String, as user: String = "", session: String? = nil, arg: String = "", isInternal: Bool = false) -> EngineResult {
        let req = EngineRequest(json: Array(json.utf8), userID: user, sessionID: session ?? sessions[user] ?? "",
                                arg: arg, isInternal: isInternal, connectionID: 1)
        let result = finish(engine.handle(req))
        journal += result.records
        return result
    }

    /// Runs every password job of `step` inline, as the worker's pool would.
    func finish(_ step: EngineStep) -> EngineResult {
        var step = step
        while true {
            switch step {
            case .done(let r): return r
            case .needsPasswordHash(let job): step = engine.resume(job, derivedKey: job.derive())
            }
        }
    }

    /// The response as JSON.
    func json(_ r: EngineResult) -> JSON { try! JSON.parse(r.response) }

    /// Sends and parses the response.
    func ask(_ json: String, as user: String = "", arg: String = "", isInternal: Bool = false) -> JSON {
        self.json(send(json, as: user, arg: arg, isInternal: isInternal))
    }

    func register(_ names: String...) {
        for n in names {
            let r = ask(#"{"type":"register","username":"\#(n)","password":"password-\#(n)"}"#)
            precondition(r["status"] == "ok", "register \(n) failed: \(r)")
        }
    }

    /// Logs in and remembers the session; returns the token.
    @discardableResult
    func login(_ name: String) -> String {
        let r = send(#"{"type":"login","username":"\#(name)","password":"password-\#(name)"}"#)
        sessions[name] = r.authSessionID
        return json(r)["token"]!.string!
    }

    func directChat(_ a: String, _ b: String) -> String {
        ask(#"{"type":"create_chat","user_id":"\#(b)"}"#, as: a)["chat"]!["id"]!.string!
    }

    @discardableResult
    func group(_ creator: String, _ members: [String], id: String = "g:1") -> String {
        let list = members.map { "\"\($0)\"" }.joined(separator: ",")
        return ask(#"{"type":"create_group","group_name":"G","member_ids":[\#(list)]}"#, as: creator, arg: id)["chat"]!["id"]!.string!
    }

    @discardableResult
    func say(_ user: String, _ chat: String, _ text: String, cmid: String? = nil) -> EngineResult {
        let k = cmid.map { #","client_msg_id":"\#($0)""# } ?? ""
        return send(#"{"type":"message","chat_id":"\#(chat)","content":"\#(text)"\#(k)}"#, as: user)
    }

    /// Events as (type, users, payload).
    func events(_ r: EngineResult) -> [(type: String, users: [String], payload: JSON)] {
        r.events.map { e in
            let j = try! JSON.parse(e.json)
            return (j["type"]!.string!, e.userIDs, j["payload"]!)
        }
    }
}

/// Shorthand assertions on a response.
func XCTAssertOK(_ j: JSON, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(j["status"], "ok", "\(j)", file: file, line: line)
}

func XCTAssertCode(_ j: JSON, _ code: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(j["status"], "error", "\(j)", file: file, line: line)
    XCTAssertEqual(j["code"]?.string, code, "\(j)", file: file, line: line)
}
