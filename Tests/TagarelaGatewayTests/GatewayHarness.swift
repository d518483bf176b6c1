// GatewayHarness: starts a Gateway on 127.0.0.1 port 0 with fake workers for a test, and stops everything after it.
import Foundation
import XCTest
import TagarelaLink
@testable import TagarelaGateway

/// One test's gateway, its fake workers and their socket folder.
final class GatewayHarness {
    let gateway: Gateway
    let workers: [FakeWorker]
    let runDir: String

    /// Starts `workerCount` fakes answering with `respond` (unless `startWorkers` is false,
    /// leaving the sockets absent), then a gateway with `configure` applied.
    /// `awaitLinks`: wait until every loop's link to every started fake is up (false for a test
    /// whose gateway must refuse the fakes).
    init(workerCount: Int, loops: Int = 1, startWorkers: Bool = true, awaitLinks: Bool = true,
         respond: @escaping FakeWorker.Responder = GatewayHarness.standardReply,
         configure: (inout GatewayConfig) -> Void = { _ in }) throws {
        runDir = NSTemporaryDirectory() + "tgw-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        var config = GatewayConfig()
        config.host = "127.0.0.1"
        config.port = 0
        config.loops = loops
        config.workers = workerCount
        config.runDir = runDir
        config.linkReconnectMinMs = 20
        config.linkReconnectMaxMs = 100
        config.log = { _ in }
        configure(&config)
        var fakes: [FakeWorker] = []
        if startWorkers {
            for k in 0..<workerCount {
                fakes.append(try FakeWorker(path: config.workerSocketPath(k), respond: respond))
            }
        }
        workers = fakes
        gateway = try Gateway(config: config)
        gateway.start()
        if startWorkers && awaitLinks { waitForLinks(loops: loops) }
    }

    var port: Int { gateway.port }

    /// Waits (bounded) until every fake has a link from every loop.
    func waitForLinks(loops: Int) {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if workers.allSatisfy({ $0.linkCount() == loops }) { return }
            usleep(10_000)
        }
        XCTFail("gateway links did not come up")
    }

    func stop() {
        gateway.stop()
        for w in workers { w.stop() }
        try? FileManager.default.removeItem(atPath: runDir)
    }

    func client() throws -> TestClient { try TestClient(port: port) }

    /// The canned worker used by most tests (PROTOCOL.md shapes, no real state):
    /// login/register/auth bind to `username` (session = `password`), logout ends the caller's
    /// session, `message` echoes an event to alice and bob excluding the sender,
    /// `get_messages` is never answered, users named `ghost*` do not exist.
    static func standardReply(_ r: LinkRequest) -> LinkReply? {
        let text = String(decoding: r.json, as: UTF8.self)
        let type = Canned.field("type", in: text) ?? ""
        switch type {
        case "login", "register":
            let user = (Canned.field("username", in: text) ?? "").lowercased()
            return LinkReply(requestID: r.requestID, json: Canned.ok(r, extra: "\"user\":{\"id\":\"\(user)\"}"),
                             authUserID: user, authSessionID: Canned.field("password", in: text) ?? "s")
        case "logout":
            return LinkReply(requestID: r.requestID, json: Canned.ok(r), endSessionID: r.sessionID, endUserID: r.userID)
        case "message":
            let content = Canned.field("content", in: text) ?? ""
            let event = "{\"type\":\"message:new\",\"payload\":{\"sender_id\":\"\(r.userID)\",\"content\":\"\(content)\"}}"
            return LinkReply(requestID: r.requestID, json: Canned.ok(r, extra: "\"message\":{\"content\":\"\(content)\"}"),
                             events: [LinkEvent(userIDs: ["alice", "bob"], excludeConnectionID: r.connectionID,
                                                json: Array(event.utf8))])
        case "get_messages":
            return nil
        case "users_exist":
            let missing = text.contains("ghost") ? "[\"ghost\"]" : "[]"
            return LinkReply(requestID: r.requestID, json: Array("{\"type\":\"users_exist\",\"status\":\"ok\",\"missing\":\(missing)}".utf8))
        case "user_chats":
            let id = "c-\(r.requestID)-\(Slots.worker(for: "x", workers: 1))"
            return LinkReply(requestID: r.requestID,
                             json: Array("{\"type\":\"user_chats\",\"status\":\"ok\",\"chats\":[{\"id\":\"\(id)\",\"created_at\":\(r.requestID)}]}".utf8))
        default:
            return LinkReply(requestID: r.requestID, json: Canned.ok(r, extra: "\"arg\":\"\(r.arg)\""))
        }
    }
}
