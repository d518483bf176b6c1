// CrossGatewayTests: two gateways and sharded workers over the bus: fan-out, presence, logout, large frames, a worker that dies.
import TagarelaBus
import TestSupport
import XCTest

final class CrossGatewayTests: XCTestCase {
    /// Alice on gateway 0, Bob on gateway 1, users on both shards: a message reaches Bob
    /// through the bus, and a message larger than the bus's max_payload crosses in parts.
    func testMessagesReachMembersOnAnotherGateway() throws {
        let cluster = try BusCluster(workers: 2, gateways: 2, maxPayload: 2048)
        defer { cluster.stop() }
        let (a, b) = try cluster.aliceAndBob()
        defer { a.close(); b.close() }
        let chat = try directChat(a, with: "bob")
        try a.sendMessage(chat, "hello over the bus")
        let got = try b.event("message:new")
        XCTAssertEqual(got["payload"]?["content"]?.string, "hello over the bus")
        let big = String(repeating: "x", count: 3_900)
        try a.sendMessage(chat, big)
        XCTAssertEqual(try b.event("message:new")["payload"]?["content"]?.string, big)
        let page = try b.ok("get_messages", [("chat_id", .string(chat)), ("limit", .int(10))])
        XCTAssertEqual(page["messages"]?.array?.count, 2)
        XCTAssertEqual(cluster.broker.oversize, 0, "a bus message exceeded max_payload")
    }

    /// Presence counts a connection on any gateway.
    func testPresenceSeesOtherGateways() throws {
        let cluster = try BusCluster(workers: 2, gateways: 2)
        defer { cluster.stop() }
        let (a, b) = try cluster.aliceAndBob()
        defer { a.close(); b.close() }
        let reply = try a.ok("get_presence", [("user_ids", .array([.string("bob"), .string("carol"), .string("alice")]))])
        XCTAssertEqual(reply["presence"]?["bob"]?.string, "online")
        XCTAssertEqual(reply["presence"]?["carol"]?.string, "offline")
        XCTAssertEqual(reply["presence"]?["alice"]?.string, "online")
        b.close()
        XCTAssertEqual(try presenceOnceNotOnline(of: "bob", askedBy: a), "offline")
    }

    /// logout_all on one gateway ends the user's sessions on the other.
    func testLogoutAllEndsSessionsOnEveryGateway() throws {
        let cluster = try BusCluster(workers: 2, gateways: 2)
        defer { cluster.stop() }
        cluster.waitForLinks()
        let a = try cluster.client(0, "alice-0")
        let b = try cluster.client(1, "alice-1")
        defer { a.close(); b.close() }
        try a.registerAndLogin(E2EUser("alice"))
        try b.login(E2EUser("alice"))
        // B's subscribe for alice reached her shard before this answer (the same link, in
        // order); the logout_all, from the other gateway, cannot overtake it then.
        _ = try b.ok("get_user_chats")
        _ = try a.ok("logout_all")
        let ended = try b.event("session:ended")
        XCTAssertNotNil(ended["payload"])
        XCTAssertEqual(try b.request("get_user_chats")["status"]?.string, "error")
    }

    /// A worker gone from the bus: its shard answers `unavailable` within the heartbeat timeout;
    /// a worker back on the shard serves it again, and its subscriptions are renewed.
    func testDeadWorkerMakesItsShardUnavailableUntilRestarted() throws {
        let cluster = try BusCluster(workers: 1, gateways: 2)
        defer { cluster.stop() }
        let (a, b) = try cluster.aliceAndBob()
        defer { a.close(); b.close() }
        let chat = try directChat(a, with: "bob")
        cluster.stopWorker(0)
        let deadline = Date().addingTimeInterval(10)
        var code = ""
        while code != "unavailable" && Date() < deadline {
            code = try a.request("message", [("chat_id", .string(chat)), ("content", .string("x"))],
                                 timeoutMs: 8000)["code"]?.string ?? ""
            if code != "unavailable" { usleep(200_000) }
        }
        XCTAssertEqual(code, "unavailable")
        try cluster.startWorker(0)
        cluster.waitForLinks()
        try a.sendMessage(chat, "back")
        XCTAssertEqual(try b.event("message:new", where: { $0["payload"]?["content"]?.string == "back" })["payload"]?["content"]?.string, "back")
    }

    /// A worker restarted between two heartbeats: the first request of a loop that has not
    /// noticed yet reaches the new worker, whose answer (under a new epoch) is the client's
    /// answer, not `unavailable`; the link then starts afresh, so events flow again.
    func testAnswerFromARestartedWorkerReachesTheClient() throws {
        let cluster = try BusCluster(workers: 1, gateways: 1, loops: 1) { _ in } configureGateway: {
            // No heartbeat between the restart and the request: the link learns of it from the answer.
            $0.limits.workerHeartbeatIntervalMs = 120_000
            $0.limits.workerHeartbeatTimeoutMs = 120_000
        }
        defer { cluster.stop() }
        let (a, b) = try cluster.aliceAndBob(bobOn: 0)
        defer { a.close(); b.close() }
        let chat = try directChat(a, with: "bob")
        cluster.stopWorker(0)
        try cluster.startWorker(0)
        let reply = try a.request("get_user_chats", timeoutMs: 8000)
        XCTAssertEqual(reply["status"]?.string, "ok", "\(reply)\n\(cluster.logs.all.joined(separator: "\n"))")
        cluster.waitForLinks()
        try a.sendMessage(chat, "after the restart")
        XCTAssertEqual(try b.event("message:new")["payload"]?["content"]?.string, "after the restart")
    }
}

final class BusBoundsTests: XCTestCase {
    /// A gateway that vanished from the bus (no unsubscribe ever comes) stops counting its users
    /// online once its loops have been silent for `busPeerSilenceMs`. The live loops ping every
    /// 100 ms, far inside that window (as every second is inside the default 15 s), so only the
    /// stopped gateway falls silent, however slowly a loaded machine runs the test.
    func testSilentGatewayLoopsAreForgotten() throws {
        let cluster = try BusCluster(workers: 1, gateways: 2, loops: 1) { $0.busPeerSilenceMs = 2_000 } configureGateway: {
            $0.limits.workerHeartbeatIntervalMs = 100
        }
        defer { cluster.stop() }
        let (a, b) = try cluster.aliceAndBob()
        defer { a.close(); b.close() }
        XCTAssertEqual(try presence(of: "bob", askedBy: a), "online")
        cluster.gateways[1].stop()  // its bus connection closes before its connections do
        XCTAssertEqual(try presenceOnceNotOnline(of: "bob", askedBy: a), "offline")
        XCTAssertTrue(cluster.logs.all.contains { $0.contains("silent for 2000 ms") })
        XCTAssertEqual(try presence(of: "alice", askedBy: a), "online", "the live gateway's loop is kept")
    }

    /// Past `busPeersMax` gateway loops, a worker refuses new ones (and says so).
    func testGatewayLoopsPastTheBoundAreRefused() throws {
        let cluster = try BusCluster(workers: 1, gateways: 1, loops: 2) { $0.busPeersMax = 1 }
        defer { cluster.stop() }
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline && !cluster.logs.all.contains(where: { $0.contains("gateway loops already linked") }) {
            usleep(50_000)
        }
        XCTAssertTrue(cluster.logs.all.contains { $0.contains("1 gateway loops already linked") })
        XCTAssertFalse(cluster.gateways[0].linksUp())
    }
}

/// The id of the direct chat `client` opens with `user`.
private func directChat(_ client: E2EChatClient, with user: String) throws -> String {
    try client.ok("create_chat", [("user_id", .string(user))])["chat"]?["id"]?.string ?? ""
}

/// What `asker` is told of `user`'s presence.
private func presence(of user: String, askedBy asker: E2EChatClient) throws -> String {
    try asker.ok("get_presence", [("user_ids", .array([.string(user)]))])["presence"]?[user]?.string ?? ""
}

/// Asks for `user`'s presence every 50 ms until it is no longer "online" (20 s at most: generous,
/// a loaded machine runs the bus late) and returns the last answer: a connection closed on
/// another gateway reaches this one through the bus.
private func presenceOnceNotOnline(of user: String, askedBy asker: E2EChatClient) throws -> String {
    let deadline = Date().addingTimeInterval(20)
    var state = try presence(of: user, askedBy: asker)
    while state == "online" && Date() < deadline {
        usleep(50_000)
        state = try presence(of: user, askedBy: asker)
    }
    return state
}
