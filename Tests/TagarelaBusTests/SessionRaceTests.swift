// SessionRaceTests: a connection that authenticates while a logout_all runs on another gateway does not outlive it (the subscription race of PROTOCOL.md 3.2).
import Foundation
import TagarelaBus
import TagarelaLink
import TestSupport
import XCTest

final class SessionRaceTests: XCTestCase {
    /// A second connection logs in as alice on gateway 1; that loop's subscribe for alice is
    /// held on the bus, so the logout_all alice sends from gateway 0 is processed by her shard
    /// while gateway 1 is not subscribed: the shard tells no one there. Once the held frames
    /// arrive, the connection must still learn its session ended and lose it.
    func testLoginRacingLogoutAllOnAnotherGatewayIsEnded() throws {
        let cluster = try BusCluster(workers: 2, gateways: 2)
        defer { cluster.stop() }
        cluster.waitForLinks()
        let a = try cluster.client(0, "alice-0")
        let b = try cluster.client(1, "alice-1")
        defer { a.close(); b.close() }
        try a.registerAndLogin(E2EUser("alice"))

        let shard = cluster.subjects.shard(Slots.worker(for: "alice", workers: 2))
        let subscribes = HeldLinks(trigger: HeldLinks.subscribesAlice)
        cluster.broker.hold { subscribes.holds($0) }
        try b.login(E2EUser("alice"))
        // Gateway 1 sends its subscribe for alice as it binds the connection, around the answer.
        subscribes.waitUntilHeld(subject: shard, count: 1)

        // Processed by alice's shard while gateway 1 does not hold her yet.
        _ = try a.ok("logout_all")
        cluster.broker.releaseHeld()

        try assertEnded(b)
    }

    /// Two connections of one gateway loop log in as alice together: both logins reach her
    /// shard before the loop's subscribe (sent once, when the first answer binds), and that
    /// subscribe is held while a logout_all runs on gateway 0. The second connection, bound
    /// while the loop already held alice, raced exactly like the first and must end too.
    func testEveryConnectionBoundBeforeTheSubscribeIsEnded() throws {
        let cluster = try BusCluster(workers: 2, gateways: 2, loops: 1)
        defer { cluster.stop() }
        cluster.waitForLinks()
        let a = try cluster.client(0, "alice-0")
        let b1 = try cluster.client(1, "alice-1")
        let b2 = try cluster.client(1, "alice-2")
        defer { a.close(); b1.close(); b2.close() }
        try a.registerAndLogin(E2EUser("alice"))

        let shard = cluster.subjects.shard(Slots.worker(for: "alice", workers: 2))
        // First both logins are held, so that her shard answers them one after the other ...
        let logins = HeldLinks(trigger: HeldLinks.logsIn)
        cluster.broker.hold { logins.holds($0) }
        let credentials: [(String, E2EJSON)] = [("username", .string("alice")), ("password", .string(E2EUser("alice").password))]
        let id1 = try b1.send("login", credentials)
        logins.waitUntilHeld(subject: shard, count: 1)
        let id2 = try b2.send("login", credentials)
        logins.waitUntilHeld(subject: shard, count: 2)
        // ... then released, and the subscribe their answers cause is held in turn.
        let subscribes = HeldLinks(trigger: HeldLinks.subscribesAlice)
        cluster.broker.releaseHeld(thenHold: { subscribes.holds($0) })
        XCTAssertEqual(try b1.response(to: id1)["status"]?.string, "ok")
        XCTAssertEqual(try b2.response(to: id2)["status"]?.string, "ok")
        subscribes.waitUntilHeld(subject: shard, count: 1)

        _ = try a.ok("logout_all")
        cluster.broker.releaseHeld()

        try assertEnded(b1)
        try assertEnded(b2)
    }

    /// `client` got `session:ended` and is no longer authenticated.
    private func assertEnded(_ client: E2EChatClient, file: StaticString = #filePath, line: UInt = #line) throws {
        let ended = try client.event("session:ended", timeoutMs: 10_000)
        XCTAssertEqual(ended["payload"]?["reason"]?.string, "ended", file: file, line: line)
        let after = try client.request("get_user_chats")
        XCTAssertEqual(after["code"]?.string, "unauthenticated", "\(after)", file: file, line: line)
    }
}

/// A hold filter: once a message has a frame `trigger` matches, it and every later message of
/// the same gateway loop to the same shard are held. The filter runs under the broker's lock;
/// what it counted is read under this one.
private final class HeldLinks: @unchecked Sendable {
    private let lock = NSLock()
    private let trigger: (LinkFrame) -> Bool
    private var pairs: Set<String> = []
    /// Per shard subject: the held messages that had a triggering frame.
    private var triggered: [String: Int] = [:]

    init(trigger: @escaping (LinkFrame) -> Bool) { self.trigger = trigger }

    static func subscribesAlice(_ frame: LinkFrame) -> Bool {
        if case .subscribe(let users) = frame { return users.contains("alice") }
        return false
    }

    static func logsIn(_ frame: LinkFrame) -> Bool {
        if case .request(let request) = frame { return String(decoding: request.json, as: UTF8.self).contains("\"login\"") }
        return false
    }

    func holds(_ message: BusMessage) -> Bool {
        let pair = message.subject + " " + message.reply
        var decoder = LinkDecoder(maxFrameBytes: 1 << 24)
        var triggers = false
        try? decoder.feed(message.payload) { frame in if trigger(frame) { triggers = true } }
        lock.lock()
        defer { lock.unlock() }
        if triggers { triggered[message.subject, default: 0] += 1 }
        if pairs.contains(pair) { return true }
        guard triggers else { return false }
        pairs.insert(pair)
        return true
    }

    /// Waits (bounded) until `count` triggering messages to `subject` are held.
    func waitUntilHeld(subject: String, count: Int, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(10)
        while held(subject) < count && Date() < deadline { usleep(5_000) }
        XCTAssertEqual(held(subject), count, "held messages to \(subject)", file: file, line: line)
    }

    private func held(_ subject: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return triggered[subject] ?? 0
    }
}
