// HungWorkerTests: a worker stopped with SIGSTOP costs its shard's clients an `unavailable` within the request deadline, the supervisor kills and restarts it, and nothing acknowledged is lost.
import Foundation
import Glibc
import TestSupport
import XCTest

/// Issue 8, section 6. The reproduction: `kill -STOP` one worker; requests to its shard waited
/// forever, `/healthz` said 503, and the supervisor did nothing (the process had not exited).
final class HungWorkerTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }
    /// Short settings so the test takes seconds: a request deadline of 1.5 s, a heartbeat miss
    /// after 1 s, and the supervisor acting after 1 s more.
    static let requestTimeoutMs = 1500
    override class var extraFlags: [String] {
        ["--request-timeout-ms", String(requestTimeoutMs), "--heartbeat-timeout-ms", "1000", "--hung-grace-ms", "1000"]
    }

    /// The state letter of `pid` in /proc (`T` when stopped), nil when it is gone.
    private func state(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return String(stat[stat.index(close, offsetBy: 2)...].prefix(1))
    }

    func testAStoppedWorkerIsAnsweredUnavailableThenKilledAndRestartedWithNothingLost() throws {
        let victim = 1
        let ana = users("hungana", onWorkers: [0])[0]
        // A partner whose direct chat with ana lives on the victim's shard.
        guard let partner = (0..<2000).lazy.map({ E2EUser("hungbo\($0)") }).first(where: {
            self.worker(of: "d:" + [ana.name, $0.name].sorted().joined(separator: ":")) == victim
        }) else { return XCTFail("no partner name puts the chat on worker \(victim)") }
        let client = try registeredClient(ana, .ndjson)
        _ = try registeredClient(partner, .webSocket)
        let chat = try client.ok("create_chat", [("user_id", .string(partner.name))])
        let chatID = try XCTUnwrap(chat["chat"]?["id"]?.string)
        XCTAssertEqual(worker(of: chatID), victim)
        var acknowledged: [String: E2EJSON] = [:]
        for i in 0..<5 { acknowledged["before-\(i)"] = try client.sendMessage(chatID, "m\(i)", clientMsgID: "before-\(i)") }

        guard let stoppedPID = instance.workerPID(victim) else { return XCTFail("no worker-\(victim)\n\(instance.logTail())") }
        XCTAssertTrue(E2EProcess.signal(stoppedPID, SIGSTOP, ifCommandLineContains: instance.dataDir))
        // Whatever happens below, the stopped process is let go (if the supervisor has not killed it).
        defer { E2EProcess.signal(stoppedPID, SIGCONT, ifCommandLineContains: instance.dataDir) }
        XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: 5000) { self.state(stoppedPID) == "T" }, "the worker is stopped")

        // A request for its shard is answered `unavailable` by the deadline, not never.
        let started = Date()
        let reply = try client.request("message", [("chat_id", .string(chatID)), ("content", "during"),
                                                   ("client_msg_id", "during")], timeoutMs: 15_000)
        assertError(reply, "message", "unavailable")
        let elapsedMs = Int(Date().timeIntervalSince(started) * 1000)
        XCTAssertLessThan(elapsedMs, Self.requestTimeoutMs + 5000, "answered at the deadline (plus a tick), not later")
        // The other shard is not affected.
        XCTAssertEqual(try client.ok("get_presence", [("user_ids", .strings([partner.name]))])["status"]?.string, "ok")

        // The supervisor sees the missed heartbeat on /healthz, kills the stopped process and starts another.
        XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: 20_000, intervalMs: 100) { self.state(stoppedPID) == nil },
                      "the stopped worker was killed\n\(instance.logTail())")
        XCTAssertTrue(instance.logTail(lines: 40).contains("missed its link heartbeat"), instance.logTail())
        var page: E2EJSON = .null
        let back = E2EProcess.waitUntil(timeoutMs: 20_000, intervalMs: 100) {
            guard let r = try? client.request("get_messages", [("chat_id", .string(chatID)), ("mark_read", false)]) else { return false }
            if r["status"]?.string == "ok" { page = r; return true }
            XCTAssertEqual(r["code"]?.string, "unavailable", "\(r)")
            return false
        }
        XCTAssertTrue(back, "the shard answers again after the restart\n\(instance.logTail())")
        XCTAssertNotEqual(instance.workerPID(victim), stoppedPID, "a new worker process")

        // Everything acknowledged survived, unchanged.
        let stored = page["messages"]?.array ?? []
        for (id, message) in acknowledged {
            let found = stored.first { $0["client_msg_id"]?.string == id }
            XCTAssertEqual(found?["id"], message["id"], "acknowledged \(id) survived")
            XCTAssertEqual(found?["content"], message["content"])
        }
        // `unavailable` is safe to retry with the same client_msg_id: stored exactly once.
        let retried = try client.sendMessage(chatID, "during", clientMsgID: "during")
        let again = try client.sendMessage(chatID, "during", clientMsgID: "during")
        XCTAssertEqual(retried["id"], again["id"])
        let all = try client.ok("get_messages", [("chat_id", .string(chatID)), ("mark_read", false)])["messages"]?.array ?? []
        XCTAssertEqual(all.filter { $0["client_msg_id"]?.string == "during" }.count, 1)
        XCTAssertEqual(all.compactMap { $0["seq"]?.int }, Array(1...6), "gap-free")
        XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: 10_000) { (try? E2EHTTP.get(port: self.port, "/healthz").status) == 200 })
    }
}
