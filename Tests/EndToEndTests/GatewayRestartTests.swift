// GatewayRestartTests: kill -9 of the gateway under traffic: the supervisor restarts it, clients reconnect and auth with their old tokens, and every acknowledged message is there exactly once.
import Foundation
import Glibc
import TestSupport
import XCTest

final class GatewayRestartTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }

    /// Reads `client` until the server's close; fails if the connection is still open after `timeoutMs`.
    func assertClosedByServer(_ client: E2EChatClient, timeoutMs: Int = 5000, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            do {
                _ = try client.receive(timeoutMs: max(1, Int(deadline.timeIntervalSinceNow * 1000)))
            } catch E2EError.timedOut {
                break
            } catch {
                return  // closed (or reset): what a killed gateway leaves
            }
        }
        XCTFail("\(client.label) is still open after the gateway was killed", file: file, line: line)
    }

    func testKillNineOfTheGatewayLosesNothingAcknowledged() throws {
        let people = users("gwrestart", onWorkers: [0, 1])
        let (alice, bob) = (people[0], people[1])
        let ca = try connect(.webSocket, "alice-before")
        let tokenA = try ca.registerAndLogin(alice)
        let cb = try connect(.ndjson, "bob-before")
        let tokenB = try cb.registerAndLogin(bob)
        guard let chat = try ca.ok("create_chat", [("user_id", .string(bob.name))])["chat"]?["id"]?.string else {
            return XCTFail("create_chat without a chat id")
        }

        // client_msg_id -> the message as acknowledged.
        var acknowledged: [String: E2EJSON] = [:]
        for i in 0..<5 { acknowledged["a-\(i)"] = try ca.sendMessage(chat, "a\(i)", clientMsgID: "a-\(i)") }
        for i in 0..<5 { acknowledged["b-\(i)"] = try cb.sendMessage(chat, "b\(i)", clientMsgID: "b-\(i)") }

        // A pipelined burst, and kill -9 as soon as its first answer is in: what was answered
        // before the kill is acknowledged, the rest may or may not be stored.
        let burst = 40
        try ca.sendPipelined((0..<burst).map {
            ("message", [("chat_id", .string(chat)), ("content", .string("p\($0)")), ("client_msg_id", .string("p-\($0)"))], "rp-\($0)")
        })
        let firstReply = try ca.response(to: "rp-0")
        acknowledged["p-0"] = assertOK(firstReply, "message")["message"]
        guard let gatewayPID = instance.pid("gateway"), let line = E2EProcess.commandLine(gatewayPID), line.contains(" gateway ") else {
            return XCTFail("no gateway pid\n\(instance.logTail())")
        }
        XCTAssertTrue(E2EProcess.signal(gatewayPID, SIGKILL, ifCommandLineContains: instance.dataDir))
        for i in 1..<burst {
            guard let reply = try? ca.response(to: "rp-\(i)", timeoutMs: 5000) else { break }
            if reply["status"]?.string == "ok" { acknowledged["p-\(i)"] = reply["message"] }
        }
        assertClosedByServer(ca)
        assertClosedByServer(cb)

        // The supervisor restarts it: a new process, and /healthz says every worker is linked.
        let back = E2EProcess.waitUntil(timeoutMs: 20_000, intervalMs: 100) {
            guard let pid = self.instance.pid("gateway"), pid != gatewayPID, E2EProcess.isAlive(pid) else { return false }
            return (try? E2EHTTP.get(port: self.port, "/healthz").status) == 200
        }
        XCTAssertTrue(back, "the gateway is back\n\(instance.logTail())")
        guard back else { return }

        // The old tokens still authenticate: sessions live with the workers, not the gateway.
        let ca2 = try connect(.webSocket, "alice-after")
        XCTAssertEqual(try ca2.ok("auth", [("token", .string(tokenA))])["user"]?["id"]?.string, alice.name)
        let cb2 = try connect(.ndjson, "bob-after")
        XCTAssertEqual(try cb2.ok("auth", [("token", .string(tokenB))])["user"]?["id"]?.string, bob.name)

        // Every acknowledged message, once, unchanged, in a gap-free sequence.
        let page = try cb2.ok("get_messages", [("chat_id", .string(chat)), ("after_seq", 0), ("limit", 200), ("mark_read", false)])
        let stored = page["messages"]?.array ?? []
        XCTAssertEqual(stored.compactMap { $0["seq"]?.int }, Array(0..<stored.count).map { $0 + 1 }, "gap-free")
        XCTAssertGreaterThanOrEqual(stored.count, acknowledged.count)
        for (clientMsgID, message) in acknowledged {
            let found = stored.filter { $0["client_msg_id"]?.string == clientMsgID }
            XCTAssertEqual(found.count, 1, "acknowledged \(clientMsgID) is stored once")
            XCTAssertEqual(found.first?["id"], message["id"])
            XCTAssertEqual(found.first?["seq"], message["seq"])
            XCTAssertEqual(found.first?["content"], message["content"])
        }

        // after_seq = the last seq bob saw gives exactly what came after it.
        guard let bobLast = acknowledged["b-4"]?["seq"]?.int else { return XCTFail("no seq for b-4") }
        let missed = try cb2.ok("get_messages", [("chat_id", .string(chat)), ("after_seq", .int(Int64(bobLast))),
                                                 ("limit", 200), ("mark_read", false)])
        XCTAssertEqual(missed["messages"]?.array?.compactMap { $0["seq"]?.int },
                       stored.compactMap { $0["seq"]?.int }.filter { $0 > bobLast })

        // Retrying the whole burst with its client_msg_ids stores each message exactly once.
        for i in 0..<burst {
            let message = try ca2.sendMessage(chat, "p\(i)", clientMsgID: "p-\(i)")
            if let first = acknowledged["p-\(i)"] {
                XCTAssertEqual(message["id"], first["id"], "the retry of acknowledged p-\(i) is the stored message")
            }
        }
        let final = try cb2.ok("get_messages", [("chat_id", .string(chat)), ("after_seq", 0), ("limit", 200), ("mark_read", false)])
        let ids = final["messages"]?.array?.compactMap { $0["client_msg_id"]?.string } ?? []
        XCTAssertEqual(ids.sorted(), ((0..<5).map { "a-\($0)" } + (0..<5).map { "b-\($0)" } + (0..<burst).map { "p-\($0)" }).sorted(),
                       "each message exactly once")

        // The new gateway fans out again.
        let live = try ca2.sendMessage(chat, "after the restart", clientMsgID: "live")
        let event = try cb2.event("message:new") { $0["payload"]?["client_msg_id"]?.string == "live" }
        XCTAssertEqual(event["payload"]?["id"], live["id"])
    }
}
