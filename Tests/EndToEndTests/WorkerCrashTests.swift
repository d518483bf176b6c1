// WorkerCrashTests: kill -9 of one worker during traffic: its shard answers unavailable, the others go on, and after the supervisor's restart nothing acknowledged is lost or duplicated.
import Foundation
import Glibc
import TestSupport
import XCTest

final class WorkerCrashTests: EndToEndTestCase {
    override class var workerCount: Int { 3 }

    func testKillNineOfOneWorkerLosesNothingAcknowledged() throws {
        let victim = 1
        let people = users("crash", onWorkers: [0, 2, victim])
        let (alice, bob, carol) = (people[0], people[1], people[2])
        let ca = try registeredClient(alice, .webSocket)
        let cb = try registeredClient(bob, .ndjson)
        let cc = try registeredClient(carol, .ndjson)

        // One group on the victim's shard, one elsewhere (group ids are random: bounded retries,
        // taken in turns by two creators, each well inside the 20 new groups a user may make at
        // once: all 40 miss one kind of shard with odds (2/3)^40, about 1e-7).
        var onVictim: String? = nil, elsewhere: String? = nil
        for i in 0..<40 where onVictim == nil || elsewhere == nil {
            let (creator, members) = i % 2 == 0 ? (ca, [bob.name]) : (cc, [alice.name, bob.name])
            let reply = try creator.ok("create_group", [("group_name", .string("k\(i)")), ("member_ids", .strings(members))])
            let id = reply["chat"]?["id"]?.string ?? ""
            if worker(of: id) == victim { onVictim = onVictim ?? id } else { elsewhere = elsewhere ?? id }
        }
        guard let victimChat = onVictim, let otherChat = elsewhere else {
            return XCTFail("40 random group ids never landed on both kinds of shard")
        }

        // Hold the victim's keeper (the supervisor's restart loop) so the outage lasts until we
        // let go: the test then checks `unavailable` deterministically, not in a race with the restart.
        guard let workerPID = instance.workerPID(victim), let keeper = E2EProcess.parent(of: workerPID),
              E2EProcess.signal(keeper, SIGSTOP, ifCommandLineContains: instance.dataDir) else {
            return XCTFail("no worker-\(victim) pid or keeper\n\(instance.logTail())")
        }
        var keeperHeld = true
        defer { if keeperHeld { E2EProcess.signal(keeper, SIGCONT, ifCommandLineContains: instance.dataDir) } }

        // Traffic: 40 messages to each chat, each stream in one write on its own connection (each
        // connection has its own rate-limit bucket of 100), and kill -9 while they are in flight.
        let count = 40
        let toVictim = try loggedInClient(alice, .webSocket, label: "traffic-victim")
        let toOther = try loggedInClient(alice, .ndjson, label: "traffic-other")
        try toVictim.sendPipelined((0..<count).map {
            ("message", [("chat_id", .string(victimChat)), ("content", .string("v\($0)")), ("client_msg_id", .string("v-\($0)"))], "rv-\($0)")
        })
        try toOther.sendPipelined((0..<count).map {
            ("message", [("chat_id", .string(otherChat)), ("content", .string("e\($0)")), ("client_msg_id", .string("e-\($0)"))], "re-\($0)")
        })
        XCTAssertEqual(kill(workerPID, SIGKILL), 0)

        var acknowledged: [Int: E2EJSON] = [:]
        for i in 0..<count {
            let victimReply = try toVictim.response(to: "rv-\(i)")
            if victimReply["status"]?.string == "ok" {
                acknowledged[i] = victimReply["message"]
            } else {
                assertError(victimReply, "message", "unavailable")
            }
            let otherReply = assertOK(try toOther.response(to: "re-\(i)"), "message")
            XCTAssertEqual(otherReply["message"]?["seq"]?.int, i + 1, "pipelined messages keep their order")
        }
        let ackedSeqs = acknowledged.keys.sorted().compactMap { acknowledged[$0]?["seq"]?.int }
        XCTAssertEqual(ackedSeqs, ackedSeqs.sorted(), "acknowledged seqs follow the sending order")

        // While the worker is down: its shard is unavailable, every other shard works.
        let cw = try loggedInClient(alice, .webSocket, label: "alice-during")
        assertError(try cw.request("get_messages", [("chat_id", .string(victimChat))]), "get_messages", "unavailable")
        assertError(try cw.request("message", [("chat_id", .string(victimChat)), ("content", "x"), ("client_msg_id", "down-1")]),
                    "message", "unavailable")
        let carolAgain = try connect(.ndjson, "carol-during")
        assertError(try carolAgain.request("login", [("username", .string(carol.name)), ("password", .string(carol.password))]),
                    "login", "unavailable")
        let during = try cb.sendMessage(otherChat, "during the outage", clientMsgID: "during")
        XCTAssertEqual(during["seq"]?.int, count + 1)
        let health = try E2EHTTP.get(port: port, "/healthz")
        XCTAssertEqual(health.status, 503, "a worker is down: \(health.text)")

        // Let the supervisor restart it; poll until the shard answers (every miss is unavailable).
        XCTAssertTrue(E2EProcess.signal(keeper, SIGCONT, ifCommandLineContains: instance.dataDir))
        keeperHeld = false
        // Polls at 20/s, under the 50/s refill of the connection's rate-limit bucket.
        var firstPage: E2EJSON = .null
        let back = E2EProcess.waitUntil(timeoutMs: 15_000, intervalMs: 50) {
            guard let reply = try? cw.request("get_messages", [("chat_id", .string(victimChat)), ("limit", 200), ("mark_read", false)]) else {
                return false
            }
            if reply["status"]?.string == "ok" { firstPage = reply; return true }
            XCTAssertEqual(reply["code"]?.string, "unavailable", "\(reply)")
            return false
        }
        XCTAssertTrue(back, "the shard is back after the restart\n\(instance.logTail())")
        XCTAssertNotEqual(instance.workerPID(victim), workerPID, "a new worker process")
        waitUntilHealthy()  // the connections below may land on loops that were still reconnecting

        // Every acknowledged message is there, unchanged, in a gap-free sequence.
        let stored = firstPage["messages"]?.array ?? []
        XCTAssertEqual(stored.compactMap { $0["seq"]?.int }, (0..<stored.count).map { $0 + 1 }, "gap-free")
        for (i, message) in acknowledged {
            let found = stored.first { $0["client_msg_id"]?.string == "v-\(i)" }
            XCTAssertEqual(found?["id"], message["id"], "acknowledged v-\(i) survived")
            XCTAssertEqual(found?["seq"], message["seq"])
            XCTAssertEqual(found?["content"]?.string, "v\(i)")
        }

        // Retrying everything with the same client_msg_id duplicates nothing.
        let retrier = try loggedInClient(alice, .ndjson, label: "retrier")
        for i in 0..<count {
            let message = try retrier.sendMessage(victimChat, "v\(i)", clientMsgID: "v-\(i)")
            if let first = acknowledged[i] {
                XCTAssertEqual(message["id"], first["id"], "retry of acknowledged v-\(i)")
                XCTAssertEqual(message["seq"], first["seq"])
            }
        }
        let final = try retrier.ok("get_messages", [("chat_id", .string(victimChat)), ("limit", 200), ("mark_read", false)])
        let all = final["messages"]?.array ?? []
        XCTAssertEqual(all.compactMap { $0["client_msg_id"]?.string }.sorted(), (0..<count).map { "v-\($0)" }.sorted(),
                       "each message exactly once")
        XCTAssertEqual(all.compactMap { $0["seq"]?.int }, Array(1...count))

        let otherPage = try cb.ok("get_messages", [("chat_id", .string(otherChat)), ("limit", 200), ("mark_read", false)])
        XCTAssertEqual(otherPage["messages"]?.array?.count, count + 1)

        try carolAgain.login(carol)
        XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: 5000) { (try? E2EHTTP.get(port: self.port, "/healthz").status) == 200 })
    }
}
