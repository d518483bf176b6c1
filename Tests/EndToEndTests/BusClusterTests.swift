// BusClusterTests: several hosts over NATS (issue 10): a three-node nats-server cluster, workers split over two data folders, two gateways, and what must survive a NATS node, a gateway and a worker dying.
import Foundation
import Glibc
import TestSupport
import XCTest

final class BusClusterTests: XCTestCase {
    private let cluster = "e2e"
    private let shards = 2

    /// A host's share of the cluster through deploy/tagarela (`--role`, `--shards`), stopped at the end.
    private func host(_ nats: NATSServerProcess, role: String, shards list: String? = nil) throws -> E2EInstance {
        var flags = ["--bus", nats.urlList, "--cluster", cluster, "--role", role]
        if let list { flags += ["--shards", list] }
        let instance = try E2EInstance(workers: shards, extraFlags: flags)
        try instance.start()
        return instance
    }

    private func natsCluster() throws -> NATSServerProcess {
        guard NATSServerProcess.executable != nil else { throw XCTSkip(NATSServerProcess.absentMessage) }
        return try NATSServerProcess(clusterSize: 3)
    }

    private func binary(_ args: [String], timeoutMs: Int = 30_000) throws -> E2ECommandResult {
        try E2EProcess.run(E2EProcess.binary, args, environment: E2EProcess.environment([:]), timeoutMs: timeoutMs)
    }

    /// Sends until the gateway acknowledges (a shard or the bus may be failing over), bounded.
    private func sendAcknowledged(_ client: E2EChatClient, _ chat: String, _ content: String,
                                  withinMs: Int = 15_000) throws -> Int? {
        let deadline = Date().addingTimeInterval(Double(withinMs) / 1000)
        while Date() < deadline {
            let reply = try client.request("message", [("chat_id", .string(chat)), ("content", .string(content))])
            if reply["status"]?.string == "ok" { return reply["message"]?["seq"]?.int }
            XCTAssertEqual(reply["code"]?.string, "unavailable", "\(reply)")
            usleep(200_000)
        }
        return nil
    }

    /// The chat's history, asked until the shard answers (bounded): after a worker's restart,
    /// a loop whose link is still reconnecting answers `unavailable`, and a client retries.
    private func contents(_ client: E2EChatClient, _ chat: String, withinMs: Int = 15_000) throws -> [String]? {
        let deadline = Date().addingTimeInterval(Double(withinMs) / 1000)
        while Date() < deadline {
            let page = try client.request("get_messages", [("chat_id", .string(chat)), ("after_seq", 0), ("limit", 200), ("mark_read", false)])
            if page["status"]?.string == "ok" { return (page["messages"]?.array ?? []).compactMap { $0["content"]?.string } }
            XCTAssertEqual(page["code"]?.string, "unavailable", "\(page)")
            usleep(200_000)
        }
        return nil
    }

    func testTwoHostsTwoGatewaysSurviveANodeAGatewayAndAWorker() throws {
        let nats = try natsCluster()
        defer { nats.stop() }
        let hostA = try host(nats, role: "workers", shards: "0")
        defer { hostA.stop() }
        let hostB = try host(nats, role: "workers", shards: "1")
        defer { hostB.stop() }
        let gatewayA = try host(nats, role: "gateway")
        defer { gatewayA.stop() }
        let gatewayB = try host(nats, role: "gateway")
        defer { gatewayB.stop() }

        let status = try hostA.supervisor(["status", "--data", hostA.dataDir])
        XCTAssertTrue(status.output.contains("bus ") && status.output.contains("0 served here"), status.output)

        // Users on both shards, each the first connection of its gateway (their connection
        // numbers are equal: an event excluded for one must still reach the other).
        let names = E2ESlots.usernames(prefix: "bus", onWorkers: [0, 1], workers: shards)
        let (alice, bob) = (E2EUser(names[0]), E2EUser(names[1]))
        let ca = try E2EChatClient(.webSocket, port: gatewayA.port, label: "alice@A")
        defer { ca.close() }
        let cb = try E2EChatClient(.ndjson, port: gatewayB.port, label: "bob@B")
        defer { cb.close() }
        try ca.registerAndLogin(alice)
        try cb.registerAndLogin(bob)

        // Fan-out, presence, typing across gateways.
        let chat = try ca.ok("create_chat", [("user_id", .string(bob.name))])["chat"]?["id"]?.string ?? ""
        try ca.sendMessage(chat, "hello from A")
        XCTAssertEqual(try cb.event("message:new")["payload"]?["content"]?.string, "hello from A")
        try cb.sendMessage(chat, "hello from B")
        XCTAssertEqual(try ca.event("message:new")["payload"]?["content"]?.string, "hello from B")
        XCTAssertEqual(try ca.ok("get_presence", [("user_ids", .strings([bob.name]))])["presence"]?[bob.name]?.string, "online")
        _ = try ca.ok("typing", [("chat_id", .string(chat))])
        XCTAssertNotNil(try cb.event("chat:typing"))
        var acknowledged = ["hello from A", "hello from B"]

        // A NATS node dies: everyone reconnects to another; chatting goes on within seconds.
        nats.kill(node: 0)
        for i in 0..<3 {
            let text = "after node loss \(i)"
            guard try sendAcknowledged(ca, chat, text) != nil else { return XCTFail("no ack after a NATS node died") }
            acknowledged.append(text)
        }
        XCTAssertEqual(try cb.event("message:new", timeoutMs: 10_000, where: { $0["payload"]?["content"]?.string == "after node loss 2" })["payload"]?["content"]?.string,
                       "after node loss 2")

        // Gateway A dies: alice moves to gateway B and catches up with after_seq.
        let lastSeen = try ca.ok("get_messages", [("chat_id", .string(chat)), ("after_seq", 0), ("limit", 200), ("mark_read", false)])["messages"]?.array?.last?["seq"]?.int ?? 0
        gatewayA.stop()
        ca.close()
        try cb.sendMessage(chat, "while alice moved")
        acknowledged.append("while alice moved")
        let ca2 = try E2EChatClient(.ndjson, port: gatewayB.port, label: "alice@B")
        defer { ca2.close() }
        try ca2.login(alice)
        let missed = try ca2.ok("get_messages", [("chat_id", .string(chat)), ("after_seq", .int(Int64(lastSeen))), ("limit", 200), ("mark_read", false)])
        XCTAssertEqual((missed["messages"]?.array ?? []).compactMap { $0["content"]?.string }, ["while alice moved"])

        // Logout on one connection ends the session everywhere (both now on gateway B, and a
        // connection of bob on gateway... B: logout_all crosses loops and gateways alike).
        // kill -9 of a worker: its shard answers unavailable until the supervisor restarts it.
        let chatShard = E2ESlots.worker(for: chat, workers: shards)
        let victimHost = chatShard == 0 ? hostA : hostB
        guard let pid = victimHost.workerPID(chatShard) else { return XCTFail("no worker-\(chatShard)\n\(victimHost.logTail())") }
        kill(pid, SIGKILL)
        for i in 0..<3 {
            let text = "after worker crash \(i)"
            guard try sendAcknowledged(ca2, chat, text, withinMs: 30_000) != nil else {
                return XCTFail("no ack after the worker's restart\n\(victimHost.logTail())")
            }
            acknowledged.append(text)
        }
        // Nothing acknowledged lost, nothing twice.
        XCTAssertEqual(try contents(cb, chat), acknowledged)
    }

    func testLogoutAllEndsSessionsOnTheOtherGateway() throws {
        let nats = try natsCluster()
        defer { nats.stop() }
        let workers = try host(nats, role: "workers")
        defer { workers.stop() }
        let gatewayA = try host(nats, role: "gateway")
        defer { gatewayA.stop() }
        let gatewayB = try host(nats, role: "gateway")
        defer { gatewayB.stop() }
        let user = E2EUser("carol")
        let onA = try E2EChatClient(.ndjson, port: gatewayA.port, label: "carol@A")
        defer { onA.close() }
        let onB = try E2EChatClient(.ndjson, port: gatewayB.port, label: "carol@B")
        defer { onB.close() }
        try onA.registerAndLogin(user)
        try onB.login(user)
        // A round trip from B to carol's shard after the login: B's loop sent its subscribe for
        // carol to every shard before any later request, over the same bus connection, so it has
        // reached carol's shard by the time this is answered. Without it the logout_all, sent
        // over gateway A's bus connection, may overtake the subscribe (PROTOCOL.md 3.2: a
        // connection binding in the instant of a logout_all may miss the notice).
        _ = try onB.ok("get_user_chats")
        _ = try onA.ok("logout_all")
        XCTAssertNotNil(try onB.event("session:ended"))
        XCTAssertEqual(try onB.request("get_user_chats")["code"]?.string, "unauthenticated")
        // Paging still works for a fresh login on the other gateway.
        try onB.login(user)
        XCTAssertNotNil(try onB.ok("get_user_chats")["chats"])
    }

    /// One owner per shard, one layout per cluster, and a clear error without a bus.
    func testRefusals() throws {
        let nats = try natsCluster()
        defer { nats.stop() }
        let hostA = try host(nats, role: "workers")
        defer { hostA.stop() }
        let other = TempDirectory(prefix: "tgr-e2e-second")
        defer { other.remove() }
        let second = try binary(["worker", "--shard", "0", "--workers", String(shards), "--data", other.path,
                                 "--socket", other.path + "/w.sock", "--bus", nats.urlList, "--cluster", cluster])
        XCTAssertEqual(second.status, 3, second.output)
        XCTAssertTrue(second.output.contains("served by another worker"), second.output)
        let layout = try binary(["worker", "--shard", "0", "--workers", "3", "--data", other.path,
                                 "--socket", other.path + "/w.sock", "--bus", nats.urlList, "--cluster", cluster])
        XCTAssertEqual(layout.status, 4, layout.output)
        XCTAssertTrue(layout.output.contains("laid out for 2 shards"), layout.output)
        let port = try E2EProcess.freePort()
        let unreachable = try binary(["gateway", "--port", "0", "--bus", "nats://127.0.0.1:\(port)"])
        XCTAssertEqual(unreachable.status, 1, unreachable.output)
        XCTAssertTrue(unreachable.output.contains("cannot reach the bus"), unreachable.output)
    }

    /// No split brain: a worker frozen past its lease's TTL loses the shard to another worker,
    /// and when it thaws it fences (exit 5) before answering anything; its supervisor then
    /// finds the shard owned and leaves it stopped (exit 3).
    func testAFrozenOwnerFencesWhenAnotherTookItsShard() throws {
        let nats = try natsCluster()
        defer { nats.stop() }
        let hostA = try host(nats, role: "workers")
        defer { hostA.stop() }
        guard let frozen = hostA.workerPID(0) else { return XCTFail("no worker-0\n\(hostA.logTail())") }
        kill(frozen, SIGSTOP)
        var thawed = false
        defer { if !thawed { kill(frozen, SIGCONT) } }
        let other = TempDirectory(prefix: "tgr-e2e-standby")
        defer { other.remove() }
        let output = other.path + "/out.log"
        let deadline = Date().addingTimeInterval(60)  // the lease's TTL is 20 s
        var standby: pid_t = 0
        defer { if standby > 0 { kill(standby, SIGTERM); _ = E2EProcess.waitUntil(timeoutMs: 5000) { !E2EProcess.isAlive(standby) } } }
        // The standby refuses (exit 3) until the frozen owner's lease expires, then takes it.
        while Date() < deadline {
            let attempt = try E2EProcess.spawn(E2EProcess.binary, ["worker", "--shard", "0", "--workers", String(shards),
                                               "--data", other.path, "--socket", other.path + "/w.sock",
                                               "--bus", nats.urlList, "--cluster", cluster],
                                               environment: E2EProcess.environment([:]), outputPath: output)
            let took = E2EProcess.waitUntil(timeoutMs: 8000) {
                (try? String(contentsOfFile: output, encoding: .utf8))?.contains("lease taken") == true || !E2EProcess.isAlive(attempt)
            }
            if took && E2EProcess.isAlive(attempt) { standby = attempt; break }
            var status: Int32 = 0
            waitpid(attempt, &status, 0)
            usleep(500_000)
        }
        XCTAssertGreaterThan(standby, 0, "the standby never took the expired lease")
        kill(frozen, SIGCONT)
        thawed = true
        XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: 10_000) { !E2EProcess.isAlive(frozen) }, "the thawed owner kept running")
        let log = (try? String(contentsOfFile: hostA.runDir + "/worker-0.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("fenced"), log)
        XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: 15_000) { FileManager.default.fileExists(atPath: hostA.runDir + "/worker-0.refused") },
                      "the restarted owner did not refuse\n\(hostA.logTail())")
    }

    /// Token authentication: the token in the URL (kept out of the process list through
    /// TAGARELA_BUS) works end to end; a wrong one is a clear error at start.
    func testTokenAuthentication() throws {
        guard NATSServerProcess.executable != nil else { throw XCTSkip(NATSServerProcess.absentMessage) }
        let nats = try NATSServerProcess(clusterSize: 1, token: "s3cret-token")
        defer { nats.stop() }
        let url = "nats://s3cret-token@127.0.0.1:\(nats.nodes[0].clientPort)"
        let workers = try E2EInstance(workers: 1, extraFlags: ["--bus", url, "--cluster", cluster, "--role", "workers"])
        defer { workers.stop() }
        try workers.start()
        let gateway = try E2EInstance(workers: 1, extraFlags: ["--bus", url, "--cluster", cluster, "--role", "gateway"])
        defer { gateway.stop() }
        try gateway.start()
        let client = try E2EChatClient(.ndjson, port: gateway.port, label: "dora")
        defer { client.close() }
        try client.registerAndLogin(E2EUser("dora"))
        let wrong = try binary(["gateway", "--port", "0", "--bus", "nats://wrong@127.0.0.1:\(nats.nodes[0].clientPort)"])
        XCTAssertEqual(wrong.status, 1, wrong.output)
        XCTAssertTrue(wrong.output.contains("refused our credentials"), wrong.output)
    }
}
