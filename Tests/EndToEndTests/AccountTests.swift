// AccountTests: byte-exact keys, the per-account login throttle, logout_all and change_password, end to end (PROTOCOL.md 2.1, 3.1, 3.2).
import Foundation
import Glibc
import TestSupport
import XCTest

final class AccountTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }

    /// client_msg_id "café" composed and decomposed are two keys: two messages, two seqs,
    /// both delivered, each id stored byte for byte.
    func testCanonicallyEquivalentClientMsgIDsAreTwoMessages() throws {
        let people = users("cafe", onWorkers: [0, 1])
        let ca = try registeredClient(people[0], .webSocket)
        let cb = try registeredClient(people[1], .ndjson)
        let chat = try ca.ok("create_chat", [("user_id", .string(people[1].name))])["chat"]?["id"]?.string ?? ""
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let first = try ca.sendMessage(chat, "one", clientMsgID: composed)
        let second = try ca.sendMessage(chat, "two", clientMsgID: decomposed)
        XCTAssertEqual(first["seq"]?.int, 1)
        XCTAssertEqual(second["seq"]?.int, 2, "the second id is a new message")
        XCTAssertEqual(second["content"]?.string, "two")
        for content in ["one", "two"] {
            XCTAssertEqual(try cb.event("message:new") { $0["payload"]?["content"]?.string == content }["payload"]?["chat_id"]?.string, chat)
        }
        let page = try cb.ok("get_messages", [("chat_id", .string(chat))])["messages"]?.array ?? []
        XCTAssertEqual(page.compactMap { $0["client_msg_id"]?.string.map { Array($0.utf8) } },
                       [Array(composed.utf8), Array(decomposed.utf8)])
        // Each resend finds its own message.
        XCTAssertEqual(try ca.sendMessage(chat, "x", clientMsgID: decomposed)["seq"]?.int, 2)
        XCTAssertEqual(try ca.sendMessage(chat, "x", clientMsgID: composed)["seq"]?.int, 1)
    }

    /// KELVIN SIGN lower-cases to "k" under Unicode rules; "\u{212A}IM" is not the user "kim".
    func testKelvinSignDoesNotNameAnASCIIUser() throws {
        let kim = users("kim", onWorkers: [0])[0]
        let ck = try registeredClient(kim, .ndjson)
        let asked = "\u{212A}" + String(kim.name.dropFirst()).uppercased()
        let presence = try ck.ok("get_presence", [("user_ids", .strings([asked, kim.name]))])["presence"]
        XCTAssertEqual(presence?[kim.name]?.string, "online")
        let keys = presence?.keys ?? []
        XCTAssertEqual(keys.count, 2, "\(String(describing: presence))")
        XCTAssertTrue(keys.contains { Array($0.utf8) == Array(("\u{212A}" + String(kim.name.dropFirst())).utf8) }, "\(keys)")
        XCTAssertEqual(presence?.keys.first { $0 != kim.name }.flatMap { presence?[$0]?.string }, "offline")
        assertError(try ck.request("create_chat", [("user_id", .string(asked))]), "create_chat", "not_found")
    }

    /// A burst of wrong passwords on one account is throttled, whatever connection it comes on.
    func testWrongPasswordBurstIsThrottled() throws {
        let victim = users("thr", onWorkers: [1])[0]
        _ = try registeredClient(victim, .ndjson)
        let attacker = try connect(.ndjson, "attacker")
        for _ in 0..<5 {
            assertError(try attacker.request("login", [("username", .string(victim.name)), ("password", "wrong-password")]),
                        "login", "bad_credentials")
        }
        let other = try connect(.webSocket, "other")
        let limited = try other.request("login", [("username", .string(victim.name)), ("password", .string(victim.password))])
        assertError(limited, "login", "rate_limited")
        XCTAssertTrue((1...1000).contains(limited["retry_after_ms"]?.int ?? 0), "the first wait is 1 s: \(limited)")
    }

    /// logout_all on one connection ends every session of the user: the other connections
    /// (another token, and another connection of the same token) get session:ended, and no old
    /// token authenticates any more.
    func testLogoutAllEndsEveryConnectionAndToken() throws {
        let people = users("lall", onWorkers: [0, 1])
        let alice = people[0]
        let c1 = try registeredClient(alice, .webSocket, label: "c1")
        let t1 = try c1.login(alice)
        let c2 = try connect(.ndjson, "c2")
        let t2 = try c2.login(alice)
        let c3 = try connect(.webSocket, "c3")
        assertOK(try c3.request("auth", [("token", .string(t1))]), "auth")
        let bystander = try registeredClient(people[1], .ndjson)

        assertOK(try c1.request("logout_all"), "logout_all")
        for c in [c2, c3] {
            XCTAssertEqual(try c.event("session:ended")["payload"]?["reason"]?.string, "logout_all")
        }
        for c in [c1, c2, c3] { assertError(try c.request("get_user_chats"), "get_user_chats", "unauthenticated") }
        let fresh = try connect(.ndjson, "fresh")
        for t in [t1, t2] { assertError(try fresh.request("auth", [("token", .string(t))]), "auth", "bad_credentials") }
        assertOK(try bystander.request("get_user_chats"), "get_user_chats")
        XCTAssertEqual(bystander.drainEvents("session:ended").count, 0)
        try fresh.login(alice)
        assertOK(try fresh.request("get_user_chats"), "get_user_chats")
    }

    /// change_password: the caller keeps its connection under a new token; the other connection
    /// gets session:ended; old password and old tokens fail, the new ones work, also after the
    /// user's worker is killed and restarted.
    func testChangePasswordEndsOtherSessionsAndSurvivesARestart() throws {
        let alice = users("chpw", onWorkers: [1])[0]
        let c1 = try registeredClient(alice, .webSocket, label: "c1")
        let t1 = try c1.login(alice)
        let c2 = try connect(.ndjson, "c2")
        let t2 = try c2.login(alice)
        let newPassword = "a-new-password"

        assertError(try c1.request("change_password", [("old_password", "not-the-password"), ("new_password", .string(newPassword))]),
                    "change_password", "bad_credentials")
        let changed = assertOK(try c1.request("change_password", [("old_password", .string(alice.password)),
                                                                  ("new_password", .string(newPassword))]), "change_password")
        assertUser(changed["user"], alice.name)
        let t3 = try XCTUnwrap(changed["token"]?.string)
        XCTAssertEqual(try c2.event("session:ended")["payload"]?["reason"]?.string, "password_changed")
        assertError(try c2.request("get_user_chats"), "get_user_chats", "unauthenticated")
        assertOK(try c1.request("get_user_chats"), "get_user_chats")
        XCTAssertEqual(c1.drainEvents("session:ended").count, 0, "the caller's own connection stays")

        func checkCredentials(_ when: String) throws {
            let c = try connect(.ndjson, "check-\(when)")
            for t in [t1, t2] { assertError(try c.request("auth", [("token", .string(t))]), "auth", "bad_credentials") }
            assertError(try c.request("login", [("username", .string(alice.name)), ("password", .string(alice.password))]),
                        "login", "bad_credentials")
            assertOK(try c.request("auth", [("token", .string(t3))]), "auth")
            assertOK(try c.request("login", [("username", .string(alice.name)), ("password", .string(newPassword))]), "login")
        }
        try checkCredentials("before")

        let shard = worker(of: alice.name)
        let pid = try XCTUnwrap(instance.workerPID(shard))
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        let probe = try connect(.ndjson, "probe")
        let back = E2EProcess.waitUntil(timeoutMs: 15_000, intervalMs: 50) {
            let r = try? probe.request("auth", [("token", .string(t3))])
            return r?["status"]?.string == "ok"
        }
        XCTAssertTrue(back, "the worker is back\n\(instance.logTail())")
        waitUntilHealthy()  // checkCredentials' new connection may land on another loop
        try checkCredentials("after")
    }
}

/// A complete last journal record with a bad checksum, end to end: the restarted worker cuts
/// it and keeps it aside; `deploy/tagarela status` lists the side file and /metrics counts it.
final class JournalCorruptionTests: EndToEndTestCase {
    override class var workerCount: Int { 1 }

    func testCorruptLastRecordIsShownByStatusAndMetrics() throws {
        let people = users("jc", onWorkers: [0, 0])
        _ = try registeredClient(people[0], .ndjson)
        let second = try connect(.ndjson, "second")
        assertOK(try second.request("register", [("username", .string(people[1].name)), ("password", .string(people[1].password))]),
                 "register")
        let clean = try instance.supervisor(["status", "--data", instance.dataDir])
        XCTAssertTrue(clean.output.contains("journal     no corrupt records kept aside"), clean.output)
        let metricsBefore = try E2EHTTP.get(port: port, "/metrics").text
        XCTAssertTrue(metricsBefore.contains("tagarela_journal_corrupt_records{worker=\"0\"} 0\n"), metricsBefore)

        XCTAssertEqual(try instance.supervisor(["stop", "--data", instance.dataDir]).status, 0)
        let journal = instance.dataDir + "/shard-0/journal-0.log"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: journal))
        bytes[bytes.count - 1] ^= 0x01  // inside the second user's record
        try bytes.write(to: URL(fileURLWithPath: journal))
        try instance.start()

        let status = try instance.supervisor(["status", "--data", instance.dataDir])
        XCTAssertTrue(status.output.contains("journal     1 corrupt record(s)"), status.output)
        XCTAssertTrue(status.output.contains(instance.dataDir + "/shard-0/journal-0.log.corrupt-"), status.output)
        let metrics = try E2EHTTP.get(port: port, "/metrics").text
        XCTAssertTrue(metrics.contains("tagarela_journal_corrupt_records{worker=\"0\"} 1\n"), metrics)
        let log = (try? String(contentsOfFile: instance.runDir + "/worker-0.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("error:") && log.contains("bad checksum"), log)
        // The cut record was the second registration: it can be made again.
        let again = try connect(.ndjson, "again")
        assertOK(try again.request("register", [("username", .string(people[1].name)), ("password", .string(people[1].password))]),
                 "register")
        assertError(try again.request("register", [("username", .string(people[0].name)), ("password", .string(people[0].password))]),
                    "register", "conflict")
    }
}
