// HostileClientTests: seeded-random hostile traffic on every request type and both transports, raw garbage and
// malformed WebSocket frames, while a well-behaved pair chats: no process restarts, nothing lost (PROTOCOL.md 2, 2.5).
import Foundation
import Glibc
import TestSupport
import XCTest

final class HostileClientTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }

    /// The seed: a failure replays exactly (the server's own randomness aside).
    private static let seed: UInt64 = 0x7A6A_2E1A_0BAD_F00D
    /// Hostile authenticated connections (half WebSocket, half NDJSON).
    private let hostileCount = 8
    /// Rounds; each hostile connection sends `perRound` requests per round, one write.
    private let rounds = 50
    private let perRound = 8
    /// Rounds start this far apart: 8 requests per 170 ms stays under 50/s per connection.
    private let roundMs = 170

    private var rng = SeededRandom(seed: HostileClientTests.seed)
    /// Chat ids the hostile clients may aim at (other users' chats included).
    private var chatPool: [String] = []
    private var userPool: [String] = []
    /// Set while generating a request that the strict parser may refuse as a whole (lone
    /// surrogate, duplicate key, nesting past 64): its answer may come without request_id.
    private var mayBeInvalid = false
    /// Huge strings left for the request being built (two would pass the 1 MiB line limit).
    private var hugeLeft = 1

    func testHostileClientsNeitherCrashNorDisturbOthers() throws {
        let pidNames = ["supervisor", "gateway"] + (0..<workers).map { "worker-\($0)" }
        var pidsBefore: [String: Int32] = [:]
        for name in pidNames {
            guard let pid = name.hasPrefix("worker-") ? instance.workerPID(Int(name.dropFirst(7))!) : instance.pid(name) else {
                return XCTFail("no pid for \(name)")
            }
            pidsBefore[name] = pid
        }

        // The well-behaved pair: one WebSocket, one NDJSON, in one direct chat.
        let alice = try registeredClient(E2EUser("hgood.alice", password: "the good pair only"), .webSocket, label: "alice")
        let bob = try registeredClient(E2EUser("hgood.bob", password: "the good pair only"), .ndjson, label: "bob")
        let direct = try alice.ok("create_chat", [("user_id", "hgood.bob")])["chat"]?["id"]?.string ?? ""
        XCTAssertEqual(direct, "d:hgood.alice:hgood.bob")
        _ = try bob.event("chat:new")

        // The hostile users, each with a group of their own (so there are chats to aim at).
        var hostile: [E2EChatClient] = []
        var hostileUsers: [E2EUser] = []
        for k in 0..<hostileCount {
            let user = E2EUser("hbad\(k)")
            let client = try registeredClient(user, k % 2 == 0 ? .webSocket : .ndjson, label: "h\(k)")
            hostile.append(client)
            hostileUsers.append(user)
            let group = try client.ok("create_group", [("group_name", .string("den \(k)")), ("member_ids", .strings(["hgood.alice"]))])
            if let id = group["chat"]?["id"]?.string { chatPool.append(id) }
        }
        chatPool += [direct, "d:hbad0:hbad1", "g:000000000000000000000000", "d:hgood.bob:hgood.alice"]
        userPool = ["hgood.alice", "hgood.bob", "HGOOD.ALICE", "hbad0", "hbad7", "nobody-here"] + hostileUsers.map { $0.name }

        // "Characters" are Unicode scalars (PROTOCOL.md 3.1): a request_id of 40 graphemes but
        // 80 scalars is over the 64-character bound, whichever component answers the type.
        let combining = String(repeating: "e\u{301}", count: 40)
        for type in ["get_user_chats", "get_presence", "get_messages", "fly"] {
            try hostile[0].sendRaw(E2EChatClient.requestText(type, [("user_ids", .array([])), ("chat_id", .string(direct))],
                                                              requestID: combining))
            let reply = try hostile[0].receive()
            XCTAssertEqual(reply["code"]?.string, "bad_request", "\(type) with an 80-scalar request_id: \(reply)")
            XCTAssertNil(reply["request_id"], "\(reply)")
        }
        let shortID = String(repeating: "é", count: 64)   // 64 scalars: at the bound, echoed
        try hostile[0].sendRaw(E2EChatClient.requestText("get_presence", [("user_ids", .array([]))], requestID: shortID))
        XCTAssertEqual(try hostile[0].receive()["request_id"]?.string, shortID)

        // Extra connections with raw garbage and malformed frames, before and during the storm.
        try garbageConnections(count: 12)

        var aliceSent: [String] = []   // request ids of alice's messages
        var bobSent: [String] = []
        var anonymousExpected = [Int](repeating: 0, count: hostileCount)
        var pending = [Set<String>](repeating: [], count: hostileCount)
        var flagged = [Set<String>](repeating: [], count: hostileCount)
        var anonymousReceived = [Int](repeating: 0, count: hostileCount)
        var answered = 0
        var sentText: [String: String] = [:]
        var rateLimited = 0
        var closedHostile: [String] = []
        let start = Date()

        for round in 0..<rounds {
            let due = start.addingTimeInterval(Double(round * roundMs) / 1000)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }

            // The good pair: one message each way per round.
            aliceSent.append(try alice.send("message", [("chat_id", .string(direct)), ("content", .string("a\(round)")),
                                                        ("client_msg_id", .string("a\(round)"))]))
            bobSent.append(try bob.send("message", [("chat_id", .string(direct)), ("content", .string("b\(round)"))]))

            for (k, client) in hostile.enumerated() where !closedHostile.contains(client.label) {
                var texts: [String] = []
                for _ in 0..<perRound {
                    let id = client.newRequestID() + (rng.below(10) == 0 ? "-ção✓" : "")
                    if rng.below(25) == 0 {
                        texts.append(invalidLine())
                        anonymousExpected[k] += 1
                    } else {
                        mayBeInvalid = false
                        texts.append(hostileRequest(requestID: id))
                        sentText[id] = texts.last!
                        if mayBeInvalid { flagged[k].insert(id) } else { pending[k].insert(id) }
                    }
                }
                do {
                    try client.transport.sendTexts(texts)
                } catch {
                    XCTFail("\(client.label): send failed in round \(round): \(error)")
                    closedHostile.append(client.label)
                }
            }
            if round % 10 == 5 { try garbageConnections(count: 3) }

            // Every hostile request gets exactly one answer carrying its request_id.
            for (k, client) in hostile.enumerated() where !closedHostile.contains(client.label) {
                let deadline = Date().addingTimeInterval(10)
                // Flagged requests are answered by id or anonymously; the totals must match.
                var flaggedByID = 0
                var anonymousReplies: [String] = []
                let flaggedCount = flagged[k].count
                while !pending[k].isEmpty || anonymousReceived[k] + flaggedByID < anonymousExpected[k] + flaggedCount {
                    let left = Int(deadline.timeIntervalSinceNow * 1000)
                    guard left > 0 else {
                        XCTFail("\(client.label): round \(round): no answer to \(pending[k].sorted()) (+\(anonymousExpected[k]) anonymous)")
                        break
                    }
                    let reply: E2EJSON
                    do {
                        reply = try client.receive(timeoutMs: left)
                    } catch {
                        XCTFail("\(client.label): round \(round): \(error); unanswered: "
                                + (pending[k].union(flagged[k])).sorted().map { "\($0): \(sentText[$0]?.prefix(400) ?? "?")" }.joined(separator: "\n")
                                + " anonymous \(anonymousReceived[k])/\(anonymousExpected[k]): \(anonymousReplies); flagged \(flagged[k])")
                        closedHostile.append(client.label)
                        break
                    }
                    guard reply["status"] != nil else {
                        // An event (chat:new, message:new, ...) to this hostile user.
                        XCTAssertTrue(reply["type"]?.string?.contains(":") == true, "\(client.label): \(reply)")
                        continue
                    }
                    if reply["code"]?.string == "rate_limited" { rateLimited += 1 }
                    if reply["type"]?.string == "logout", reply["status"]?.string == "ok" {
                        // The session ended: log in again so later requests keep probing authenticated paths.
                        _ = try? client.send("login", [("username", .string(hostileUsers[k].name)),
                                                       ("password", .string(hostileUsers[k].password))],
                                             requestID: "relogin-\(round)-\(k)")
                        pending[k].insert("relogin-\(round)-\(k)")
                    }
                    // A line the parser refused is answered with type "error"; it carries the
                    // request_id the gateway could still read from the bytes, if any (one of the
                    // garbage lines holds `"request_id":"x"`), so it counts as anonymous.
                    let salvaged = reply["type"]?.string == "error" && reply["request_id"]?.string.map {
                        pending[k].contains($0) == false && flagged[k].contains($0) == false
                    } == true
                    if let rid = reply["request_id"]?.string, !salvaged {
                        if flagged[k].remove(rid) != nil {
                            flaggedByID += 1
                        } else {
                            XCTAssertNotNil(pending[k].remove(rid), "\(client.label): unexpected or duplicate answer: \(reply)")
                        }
                        if let chat = reply["chat"]?["id"]?.string, !chatPool.contains(chat) { chatPool.append(chat) }
                        answered += 1
                    } else {
                        anonymousReceived[k] += 1
                        anonymousReplies.append("\(reply)")
                        XCTAssertLessThanOrEqual(anonymousReceived[k], anonymousExpected[k] + flaggedCount,
                                                 "\(client.label): an answer without request_id: \(reply)")
                        XCTAssertEqual(reply["type"]?.string, "error", "\(reply)")
                        answered += 1
                    }
                }
                pending[k].removeAll()
                flagged[k].removeAll()
                anonymousExpected[k] = 0
                anonymousReceived[k] = 0
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertTrue(closedHostile.isEmpty, "hostile connections closed: \(closedHostile)")
        XCTAssertLessThan(rateLimited, rounds * perRound * hostileCount / 10, "pacing keeps rate_limited rare")

        // The good pair: every response ok, seqs 1...N without gaps, and each side received
        // the other's messages exactly once.
        var seqs: [Int] = []
        var aliceSeqs: [Int: String] = [:]
        var bobSeqs: [Int: String] = [:]
        for id in aliceSent {
            let reply = try alice.response(to: id)
            XCTAssertEqual(reply["status"]?.string, "ok", "\(reply)")
            if let seq = reply["message"]?["seq"]?.int { seqs.append(seq); aliceSeqs[seq] = reply["message"]?["content"]?.string }
        }
        for id in bobSent {
            let reply = try bob.response(to: id)
            XCTAssertEqual(reply["status"]?.string, "ok", "\(reply)")
            if let seq = reply["message"]?["seq"]?.int { seqs.append(seq); bobSeqs[seq] = reply["message"]?["content"]?.string }
        }
        XCTAssertEqual(seqs.sorted(), Array(1...(2 * rounds)), "seq grows by 1 with no gaps")
        try alice.barrier()
        try bob.barrier()
        let atBob = bob.drainEvents("message:new").filter { $0["payload"]?["chat_id"]?.string == direct }
        let atAlice = alice.drainEvents("message:new").filter { $0["payload"]?["chat_id"]?.string == direct }
        XCTAssertEqual(atBob.compactMap { $0["payload"]?["seq"]?.int }.sorted(), aliceSeqs.keys.sorted(), "bob got alice's messages once each")
        XCTAssertEqual(atAlice.compactMap { $0["payload"]?["seq"]?.int }.sorted(), bobSeqs.keys.sorted(), "alice got bob's messages once each")
        for event in atBob { XCTAssertEqual(event["payload"]?["content"]?.string, aliceSeqs[event["payload"]?["seq"]?.int ?? -1]) }
        for event in atAlice { XCTAssertEqual(event["payload"]?["content"]?.string, bobSeqs[event["payload"]?["seq"]?.int ?? -1]) }
        // And the history agrees.
        let page = try bob.ok("get_messages", [("chat_id", .string(direct)), ("after_seq", 0), ("limit", 200)])
        XCTAssertEqual(page["messages"]?.array?.compactMap { $0["seq"]?.int }, Array(1...(2 * rounds)))

        // No process restarted, and the instance is healthy.
        for name in pidNames {
            let now = name.hasPrefix("worker-") ? instance.workerPID(Int(name.dropFirst(7))!, timeoutMs: 500) : instance.pid(name)
            XCTAssertEqual(now, pidsBefore[name], "\(name) restarted\n\(instance.logTail())")
            if let pid = now { XCTAssertTrue(E2EProcess.isAlive(pid), "\(name) (\(pid)) is gone") }
        }
        let health = try E2EHTTP.get(port: port, "/healthz")
        XCTAssertEqual(health.status, 200, "\(health.text)")
        print("hostile: \(answered) answers (\(rateLimited) rate_limited) in \(String(format: "%.1f", elapsed)) s")
    }

    // MARK: - Request generation

    private func pick<T>(_ items: [T]) -> T { items[rng.below(items.count)] }

    private static let types = ["register", "login", "auth", "logout", "search_users", "create_chat", "create_group",
                                "add_group_member", "remove_group_member", "get_user_chats", "message", "get_messages",
                                "mark_read", "typing", "get_presence", "users_exist", "user_chats", "fly", "",
                                "MESSAGE", "message:new", "error"]
    private static let fields = ["username", "password", "display_name", "token", "query", "limit", "user_id",
                                 "group_name", "member_ids", "group_id", "chat_id", "content", "client_msg_id",
                                 "before_seq", "after_seq", "mark_read", "seq", "user_ids", "arg", "user", "__proto__"]
    private static let relevant: [String: [String]] = [
        "register": ["username", "password", "display_name"], "login": ["username", "password"], "auth": ["token"],
        "search_users": ["query", "limit"], "create_chat": ["user_id"], "create_group": ["group_name", "member_ids"],
        "add_group_member": ["group_id", "user_id"], "remove_group_member": ["group_id", "user_id"],
        "message": ["chat_id", "content", "client_msg_id"],
        "get_messages": ["chat_id", "before_seq", "after_seq", "limit", "mark_read"], "mark_read": ["chat_id", "seq"],
        "typing": ["chat_id"], "get_presence": ["user_ids"], "users_exist": ["user_ids"], "user_chats": ["user_id"],
    ]

    /// One request object as JSON text: a known or odd type, its own fields (mostly) with
    /// hostile values, stray fields and duplicate keys; `request_id` is always a valid string.
    private func hostileRequest(requestID: String) -> String {
        let type = pick(HostileClientTests.types)
        var members: [String] = []
        if rng.below(20) != 0 { members.append("\"type\":" + jsonString(type)) }
        members.append("\"request_id\":" + jsonString(requestID, escapes: false))
        hugeLeft = 1
        var names: [String] = []
        for name in HostileClientTests.relevant[type] ?? [] where rng.below(8) != 0 { names.append(name) }
        for _ in 0..<rng.below(3) {
            let name = pick(HostileClientTests.fields)
            if names.contains(name) { mayBeInvalid = true }   // a duplicate key
            names.append(name)
        }
        for name in names { members.append(jsonString(name, escapes: false) + ":" + value(for: name, depth: 0)) }
        if rng.below(6) == 0, members.count > 2 {
            // A duplicate key (never request_id: answers are matched by it).
            let dup = members[rng.below(members.count)]
            if !dup.hasPrefix("\"request_id\"") { mayBeInvalid = true; members.append(String(dup.prefix { $0 != ":" }) + ":" + anyValue(depth: 1)) }
        }
        let head = members.removeFirst()
        members.shuffle(using: &rng)
        return "{" + ([head] + members).joined(separator: rng.below(5) == 0 ? " ,\t" : ",") + "}"
    }

    /// A value that is usually of the field's type, often valid-looking, often not.
    private func value(for field: String, depth: Int) -> String {
        switch rng.below(10) {
        case 0...2: return anyValue(depth: depth)
        default: break
        }
        switch field {
        case "limit", "before_seq", "after_seq", "seq": return number()
        case "mark_read": return pick(["true", "false", "\"true\"", "1", "null"])
        case "member_ids", "user_ids":
            let n = pick([0, 1, 2, 3, 50, 100, 101, 1001])
            // Long lists hold plain ids, so the request stays under the line limit.
            return "[" + (0..<n).map { _ in n > 3 ? jsonString(pick(userPool) + (rng.below(2) == 0 ? "" : "\(rng.below(999))"))
                : rng.below(4) == 0 ? anyValue(depth: depth + 1) : jsonString(userish()) }.joined(separator: ",") + "]"
        case "chat_id", "group_id": return jsonString(rng.below(3) == 0 ? hostileString() : pick(chatPool))
        case "user_id", "username": return jsonString(userish())
        case "password": return jsonString(pick(["correct horse battery", "short", hostileString(), String(repeating: "p", count: 1025)]))
        case "token": return jsonString(pick(["hbad0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "hgood.alice.x", ".", "a..b", hostileString()]))
        default: return jsonString(hostileString())
        }
    }

    private func userish() -> String {
        rng.below(3) == 0 ? hostileString() : pick(userPool)
    }

    private func number() -> String {
        let n = pick(["0", "-1", "1", "50", "200", "201", "-9223372036854775808", "9223372036854775807", "9223372036854775808",
              "18446744073709551616", "1e308", "-1e308", "1e400", "1.5", "2.0", "-0", "0.0000001", "1E2",
              "123456789012345678901234567890", "\(rng.below(1000))"])
        // Integers past 64 bits and doubles past their range may be refused as a whole.
        if n.count >= 19 || n == "1e400" { mayBeInvalid = true }
        return n
    }

    private func anyValue(depth: Int) -> String {
        switch rng.below(depth > 3 ? 5 : 8) {
        case 0: return "null"
        case 1: return pick(["true", "false"])
        case 2: return number()
        case 3, 4: return jsonString(hostileString())
        case 5:
            return "[" + (0..<rng.below(4)).map { _ in anyValue(depth: depth + 1) }.joined(separator: ",") + "]"
        case 6:
            let keys = (0..<rng.below(4)).map { _ in pick(HostileClientTests.fields) }
            if Set(keys).count < keys.count { mayBeInvalid = true }   // a duplicate key
            return "{" + keys.map { jsonString($0, escapes: false) + ":" + anyValue(depth: depth + 1) }.joined(separator: ",") + "}"
        default:
            // Deep nesting, past the parser's depth limit now and then.
            let n = pick([10, 63, 64, 65, 200, 5000])
            if n + depth >= 60 { mayBeInvalid = true }
            return String(repeating: "[", count: n) + String(repeating: "]", count: n)
        }
    }

    /// Strings of every awkward kind; the JSON text stays under the 1 MiB line limit.
    private func hostileString() -> String {
        switch rng.below(14) {
        case 0: return ""
        case 1: return " "
        case 2: return "héllo wörld ✓ 日本語 🎉👩‍👩‍👧"
        case 3: return String((0..<rng.below(40)).map { _ in Character(Unicode.Scalar(UInt8(rng.below(32)))) })
        case 4: return "\u{0}\u{7F}\u{2028}\u{2029}\u{FEFF}\u{FFFD}"
        case 5: return String(repeating: "x", count: pick([63, 64, 65, 66, 67, 68, 100, 101, 4000, 4001]))
        case 6: return String(repeating: "é", count: pick([64, 65, 4000, 4001]))
        case 7: return String(repeating: "e\u{301}", count: pick([32, 33, 64, 2000]))
        case 8: return String(repeating: "🎉", count: pick([16, 17, 64, 65, 1000, 1001]))
        case 9:
            guard hugeLeft > 0 else { return "zz" }
            hugeLeft -= 1
            return String(repeating: "z", count: pick([20_000, 200_000, 900_000]))
        case 10: return pick(["d:", "g:", ":", "d:hbad0:", "d::", "/", "../../etc/passwd", "g:zzzzzzzzzzzzzzzzzzzzzzzz", "%s%n", "\\"])
        case 11: return pick(chatPool) + pick(["", "/1", "\u{0}", " "])
        case 12: return pick(userPool).uppercased()
        default: return "r\(rng.below(100_000))"
        }
    }

    /// A JSON string literal; now and then with escapes a strict parser must handle
    /// (lone surrogates, escaped NUL).
    private func jsonString(_ s: String, escapes: Bool = true) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        if escapes && rng.below(30) == 0 {
            let escape = pick(["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\u0000", "\\/"])
            if escape == "\\ud800" || escape == "\\udfff" { mayBeInvalid = true }
            out += escape
        }
        return out + "\""
    }

    /// A line that is not one JSON object (answered with `"type": "error"`, with a request_id only
    /// when one can be read from the bytes);
    /// never empty and never containing a newline.
    private func invalidLine() -> String {
        pick(["{", "}", "[1,2,3]", "42", "\"str\"", "null", "{\"type\":\"login\",}", "{\"type\":\"login\"} trailing",
              "{'type':'login'}", "{\"type\":\"message\",\"request_id\":\"x\"", "\u{FEFF}{\"type\":\"logout\"}",
              "{\"a\":tru}", "NaN", "{\"type\":\"message\",\"content\":\"\u{1}\"}", "{\"n\":01}", "{\"n\":1.}",
              "{\"s\":\"\\x\"}", "{\"s\":\"\\u12\"}", "[" + String(repeating: "[", count: 70_000)])
    }

    // MARK: - Garbage connections

    /// Opens `count` short-lived connections that send garbage bytes, malformed HTTP or
    /// malformed WebSocket frames; each must be answered or closed, never crash anything.
    private func garbageConnections(count: Int) throws {
        for _ in 0..<count {
            switch rng.below(4) {
            case 0:
                // Raw TCP: random bytes (lines with newlines, invalid UTF-8, NULs).
                let stream = try E2EByteStream(port: port)
                var bytes = rng.bytes(1 + rng.below(3000))
                if bytes.first == UInt8(ascii: "G") || bytes.first == UInt8(ascii: "P") || bytes.first == UInt8(ascii: "H") { bytes[0] = 0x01 }
                for _ in 0..<rng.below(20) { bytes[rng.below(bytes.count)] = 0x0A }
                try? stream.send(bytes)
                _ = stream.closesWithin(timeoutMs: 100)
                stream.close()
            case 1:
                // Malformed HTTP heads.
                let stream = try E2EByteStream(port: port)
                let head = pick(["GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAA\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                 "GET /ws HTTP/1.1\r\n" + String(repeating: "X-A: b\r\n", count: 2000) + "\r\n",
                                 "GET " + String(repeating: "/", count: 9000) + " HTTP/1.1\r\n\r\n",
                                 "GET /ws HTTP/9.9\r\nHost: \u{0}\r\n\r\n", "GET  HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost\r\n\r\n",
                                 "POST /ws HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "GET /healthz HTTP/1.1\r\n\r\n"])
                try? stream.send(Array(head.utf8) + rng.bytes(rng.below(100)))
                XCTAssertTrue(stream.closesWithin(timeoutMs: 3000), "a malformed HTTP request is answered and closed: \(head.prefix(60))")
                stream.close()
            default:
                // A WebSocket with a malformed frame.
                let ws = try E2EWebSocketClient(port: port)
                let bad: [UInt8]
                switch rng.below(11) {
                case 0: bad = [0x81, 0x05] + Array("hello".utf8)                                     // unmasked
                case 1: bad = ws.frameBytes(.text, Array("{}".utf8), rsv: 0x4)                       // RSV bit
                case 2: bad = [0x83, 0x80, 1, 2, 3, 4]                                                // opcode 3
                case 3: bad = ws.frameBytes(.ping, [UInt8](repeating: 7, count: 126))                // long ping
                case 4: bad = ws.frameBytes(.ping, [1], fin: false)                                   // fragmented ping
                case 5: bad = ws.frameBytes(.continuation, Array("x".utf8))                          // nothing to continue
                case 6: bad = ws.frameBytes(.text, [0xC3, 0x28, 0xFF])                                // invalid UTF-8
                case 7: bad = ws.frameBytes(.close, [0x03, 0xE8 + 5])                                 // close 1005... wrong code
                case 8: bad = [0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4] // 2^63-1 bytes
                case 9: bad = ws.frameBytes(.text, Array("{\"a\":".utf8), fin: false) + ws.frameBytes(.text, Array("1}".utf8)) // new message mid-fragment
                default: bad = [0x70 | UInt8(rng.below(16))] + rng.bytes(rng.below(200))               // RSV bits, then noise
                }
                try? ws.stream.send(bad)
                XCTAssertTrue(ws.stream.closesWithin(timeoutMs: 3000), "a malformed frame closes the connection: \(bad.prefix(16))")
                ws.close()
            }
        }
    }
}
