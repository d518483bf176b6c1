// ErrorPathTests: malformed requests, unknown types, unauthenticated requests and rate limiting (PROTOCOL.md 2 and 2.5) over both transports.
import Foundation
import Glibc
import TestSupport
import XCTest

final class ErrorPathTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }

    func testMalformedRequestsKeepTheConnectionOverWebSocket() throws { try malformedRequests(.webSocket, "eqw") }
    func testMalformedRequestsKeepTheConnectionOverNDJSON() throws { try malformedRequests(.ndjson, "eqt") }
    func testRateLimitedWithRetryAfterOverWebSocket() throws { try rateLimited(.webSocket, "rlw") }
    func testRateLimitedWithRetryAfterOverNDJSON() throws { try rateLimited(.ndjson, "rlt") }
    func testRateLimitAbuseClosesOverWebSocket() throws { try rateLimitAbuseCloses(.webSocket, "raw") }
    func testRateLimitAbuseClosesOverNDJSON() throws { try rateLimitAbuseCloses(.ndjson, "rat") }
    func testRateLimitAbuseAnswersWhatWasLetThroughOverWebSocket() throws { try abuseAnswersLetThrough(.webSocket, "aaw") }
    func testRateLimitAbuseAnswersWhatWasLetThroughOverNDJSON() throws { try abuseAnswersLetThrough(.ndjson, "aat") }

    /// PROTOCOL.md 3.1: `"request_id": null` is absent, for every request type alike (it used to
    /// pass the types the gateway answers and fail those a worker answers).
    func testNullRequestIDIsAbsentForEveryRequestType() throws {
        let named = users("nul", onWorkers: [0, 1])
        let (user, other) = (named[0], named[1])
        _ = try registeredClient(other, .ndjson)
        let c = try connect(.ndjson, "null")
        let direct = "d:" + [user.name, other.name].sorted().joined(separator: ":")
        var token = ""
        let requests: [(String, [(String, E2EJSON)])] = [
            ("register", [("username", .string(user.name)), ("password", .string(user.password))]),
            ("login", [("username", .string(user.name)), ("password", .string(user.password))]),
            ("auth", []),  // the token is filled in below
            ("search_users", [("query", "nu")]),
            ("create_chat", [("user_id", .string(other.name))]),
            ("create_group", [("group_name", "g"), ("member_ids", .strings([other.name]))]),
            ("add_group_member", [("group_id", "g:000000000000000000000000"), ("user_id", .string(other.name))]),
            ("remove_group_member", [("group_id", "g:000000000000000000000000"), ("user_id", .string(other.name))]),
            ("get_user_chats", []),
            ("message", [("chat_id", .string(direct)), ("content", "hi")]),
            ("get_messages", [("chat_id", .string(direct))]),
            ("mark_read", [("chat_id", .string(direct)), ("seq", 1)]),
            ("typing", [("chat_id", .string(direct))]),
            ("get_presence", [("user_ids", .strings([user.name]))]),
            ("logout", []),
        ]
        for (type, fields) in requests {
            let body = type == "auth" ? [("token", E2EJSON.string(token))] : fields
            try c.sendRaw(E2EJSON.object([("type", .string(type)), ("request_id", .null)] + body).description)
            var reply = try c.receive()
            while reply["status"]?.string == nil { reply = try c.receive() }  // an event, not the answer
            XCTAssertEqual(reply["type"]?.string, type, "\(reply)")
            XCTAssertNil(reply["request_id"], "no request_id in the answer: \(reply)")
            XCTAssertNotEqual(reply["code"]?.string, "bad_request", "\(type): \(reply)")
            if type == "login" { token = reply["token"]?.string ?? "" }
        }
    }

    /// Asserts `reply` is the `"type": "error"` answer to something that was not a JSON object.
    private func assertNotAnObjectError(_ reply: E2EJSON, _ sent: String, line: UInt = #line) {
        XCTAssertEqual(reply["type"]?.string, "error", "for \(sent): \(reply)", line: line)
        XCTAssertEqual(reply["status"]?.string, "error", "for \(sent): \(reply)", line: line)
        XCTAssertEqual(reply["code"]?.string, "bad_request", "for \(sent): \(reply)", line: line)
        XCTAssertFalse((reply["message"]?.string ?? "").isEmpty, "for \(sent): \(reply)", line: line)
    }

    private func malformedRequests(_ kind: E2ETransportKind, _ prefix: String) throws {
        let user = users(prefix, onWorkers: [1])[0]
        let c = try connect(kind, "c")

        for text in ["{\"type\": \"login\", ", "[1,2,3]", "{\"type\":\"login\"} trailing", "{\"a\":tru}", "{\"type\":\"login\",}"] {
            try c.sendRaw(text)
            assertNotAnObjectError(try c.receive(), text)
        }
        // Valid JSON but not an object: still "error", and the connection goes on.
        try c.sendRaw("42")
        assertNotAnObjectError(try c.receive(), "42")

        // Objects with a readable request_id get it back.
        try c.sendRaw("{\"request_id\":\"no-type\"}")
        let noType = try c.response(to: "no-type")
        XCTAssertEqual(noType["code"]?.string, "bad_request", "\(noType)")
        XCTAssertEqual(noType["status"]?.string, "error", "\(noType)")
        try c.sendRaw("{\"type\":5,\"request_id\":\"bad-type\"}")
        XCTAssertEqual(try c.response(to: "bad-type")["code"]?.string, "bad_request")

        // Unknown types are bad_request, authenticated or not.
        assertError(try c.request("fly_to_the_moon"), "fly_to_the_moon", "bad_request")
        assertError(try c.request("get_user_chats"), "get_user_chats", "unauthenticated")
        assertError(try c.request("create_group", [("group_name", "x"), ("member_ids", .array([]))]), "create_group", "unauthenticated")
        assertError(try c.request("get_presence", [("user_ids", .array([]))]), "get_presence", "unauthenticated")

        // request_id longer than 64 characters.
        let longID = String(repeating: "r", count: 65)
        try c.sendRaw(E2EChatClient.requestText("get_user_chats", [], requestID: longID))
        let longReply = try c.receive()
        XCTAssertEqual(longReply["code"]?.string, "bad_request", "\(longReply)")
        XCTAssertEqual(longReply["status"]?.string, "error", "\(longReply)")

        // After all that the same connection registers, logs in and works.
        try c.registerAndLogin(user)
        assertError(try c.request("fly_to_the_moon"), "fly_to_the_moon", "bad_request")
        assertError(try c.request("get_messages", [("chat_id", 17)]), "get_messages", "bad_request")
        try c.sendRaw("{\"type\": \"get_user_chats\", ")
        assertNotAnObjectError(try c.receive(), "truncated JSON after login")
        let chats = assertOK(try c.request("get_user_chats"), "get_user_chats")
        XCTAssertEqual(chats["chats"], .array([]))
        XCTAssertEqual(c.inbox.count, 0, "nothing unexpected arrived: \(c.inbox)")

        let health = try E2EHTTP.get(port: port, "/healthz")
        XCTAssertEqual(health.status, 200, "every process survived: \(health.text)")
    }

    private func rateLimited(_ kind: E2ETransportKind, _ prefix: String) throws {
        let user = users(prefix, onWorkers: [0])[0]
        let c = try registeredClient(user, kind)
        let count = 150
        let ids = (0..<count).map { "flood-\($0)" }
        try c.sendPipelined(ids.map { ("get_presence", [("user_ids", .strings([user.name]))], $0) })
        var ok = 0
        var limited: [E2EJSON] = []
        for (i, id) in ids.enumerated() {
            let reply = try c.response(to: id)
            XCTAssertEqual(reply["type"]?.string, "get_presence", "\(reply)")
            if reply["status"]?.string == "ok" {
                ok += 1
            } else {
                XCTAssertEqual(reply["code"]?.string, "rate_limited", "\(reply)")
                // Burst 100, two tokens spent on register and login: the first 98 always pass.
                XCTAssertGreaterThanOrEqual(i, 98, "refused inside the burst: \(reply)")
                limited.append(reply)
            }
        }
        // At 50/s a handful of tokens may refill while the flood is read; the rest is refused.
        XCTAssertGreaterThanOrEqual(ok, 98, "the burst is served")
        XCTAssertGreaterThanOrEqual(limited.count, 30, "the flood past the burst is refused (ok \(ok))")
        var retryAfter = 0
        for reply in limited {
            let ms = reply["retry_after_ms"]?.int ?? -1
            XCTAssertGreaterThan(ms, 0, "\(reply)")
            XCTAssertLessThanOrEqual(ms, 2000, "one token at 50/s comes within 20 ms: \(reply)")
            retryAfter = max(retryAfter, ms)
        }
        // The connection stays open; after the advertised wait a request goes through.
        usleep(useconds_t((retryAfter + 20) * 1000))
        let after = assertOK(try c.request("get_presence", [("user_ids", .strings([user.name]))]), "get_presence")
        XCTAssertEqual(after["presence"]?[user.name]?.string, "online")
    }

    /// Issue 8: the close for abuse dropped the answers of the messages let through before it,
    /// though they were stored and delivered. Every one is answered, then the connection closes.
    private func abuseAnswersLetThrough(_ kind: E2ETransportKind, _ prefix: String) throws {
        let named = users(prefix, onWorkers: [0, 1])
        let (user, other) = (named[0], named[1])
        _ = try registeredClient(other, kind)
        let c = try registeredClient(user, kind)
        let chat = try c.ok("create_chat", [("user_id", .string(other.name))])["chat"]?["id"]?.string ?? ""
        let ids = (0..<260).map { "flood-\($0)" }
        try c.sendPipelined(ids.map { ("message", [("chat_id", .string(chat)), ("content", "x"), ("client_msg_id", .string($0))], $0) })
        var limited: [String] = []
        var answered = Set<String>()
        var closeCode: UInt16? = nil
        var closed = false
        for _ in 0..<(ids.count + 1) where !closed {
            do {
                let reply = try c.receive(timeoutMs: 10_000)
                guard let id = reply["request_id"]?.string else { continue }
                if reply["code"]?.string == "rate_limited" {
                    limited.append(id)
                } else {
                    XCTAssertEqual(reply["status"]?.string, "ok", "\(reply)")
                    answered.insert(id)
                }
            } catch E2EError.closed(let code) {
                closed = true
                closeCode = code
            }
        }
        XCTAssertTrue(closed)
        XCTAssertGreaterThan(limited.count, 100)
        // Requests are taken in order: all before the one that drew the closing refusal and
        // were not refused were let through; none after it was.
        guard let cut = limited.last.flatMap({ ids.firstIndex(of: $0) }) else { return XCTFail("no rate_limited") }
        let letThrough = Set(ids[..<cut].filter { !limited.contains($0) })
        // The bucket holds 100; register, login and create_chat took 3 of them (refilled at 50/s
        // since), so at least 97 of the flood get through.
        XCTAssertGreaterThanOrEqual(letThrough.count, 97, "the burst")
        XCTAssertEqual(answered.subtracting(letThrough), [], "nothing after the cut is answered")
        XCTAssertEqual(letThrough.subtracting(answered).count, 0, "every request let through is answered before the close")
        if kind == .webSocket { XCTAssertEqual(closeCode, 1008) }
    }

    private func rateLimitAbuseCloses(_ kind: E2ETransportKind, _ prefix: String) throws {
        let user = users(prefix, onWorkers: [1])[0]
        let c = try registeredClient(user, kind)
        let count = 260
        try c.sendPipelined((0..<count).map { ("get_presence", [("user_ids", .array([]))], "abuse-\($0)") })
        var limited = 0
        var closeCode: UInt16? = nil
        var closed = false
        for _ in 0..<count {
            do {
                let reply = try c.receive(timeoutMs: 5000)
                if reply["code"]?.string == "rate_limited" { limited += 1 }
            } catch E2EError.closed(let code) {
                closed = true
                closeCode = code
                break
            }
        }
        if !closed {
            do {
                _ = try c.receive(timeoutMs: 5000)
                XCTFail("more output after every response")
            } catch E2EError.closed(let code) {
                closed = true
                closeCode = code
            }
        }
        XCTAssertTrue(closed, "more than 100 rate_limited errors within 10 s close the connection")
        XCTAssertGreaterThan(limited, 100, "the close comes after the 100th rate_limited, not before")
        if kind == .webSocket {
            XCTAssertEqual(closeCode, 1008, "policy violation (RFC 6455 section 7.4.1)")
        }
        // Other connections are unaffected.
        let other = try loggedInClient(user, kind, label: "other")
        assertOK(try other.request("get_user_chats"), "get_user_chats")
    }
}
