// WorkerProcessTests: a real worker process over its Unix socket: requests, kill -9, restart, nothing acknowledged lost.
import Foundation
import TagarelaJSON
import TagarelaLink
import TestSupport
import XCTest

/// A blocking link client for tests: sends request frames, reads reply frames.
final class LinkTestClient {
    let socket: LoopbackClient
    private var decoder = LinkDecoder(maxFrameBytes: 16 << 20)
    private var frames: [LinkFrame] = []
    private var nextID: UInt64 = 1
    /// How long a reply may take: generous, because a reply behind PBKDF2 hashing (tens of ms
    /// in release) takes seconds in a debug or sanitizer build on a loaded 2-core machine.
    var timeoutMs = 30_000

    init(path: String) throws { socket = try LoopbackClient(unixPath: path) }

    /// Sends one request and waits for its reply (events that arrive meanwhile are kept aside).
    func request(_ json: String, user: String = "", session: String = "", arg: String = "") throws -> (JSON, LinkReply) {
        let id = nextID
        nextID += 1
        let frame = LinkFrame.request(LinkRequest(requestID: id, connectionID: 7, userID: user, sessionID: session,
                                                  arg: arg, json: Array(json.utf8)))
        try socket.send(LinkCodec.encoded(frame))
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            if let index = frames.firstIndex(where: { if case .reply(let r) = $0 { return r.requestID == id }; return false }),
               case .reply(let reply) = frames.remove(at: index) {
                return (try JSON.parse(reply.json), reply)
            }
            try readFrame()
        }
        throw LoopbackError.timedOut(received: 0)
    }

    /// Sends a ping and returns every frame that came before its pong (including those set
    /// aside), in order: the worker writes a link's frames in order, so anything queued for this
    /// link before the ping was handled is in the list.
    func framesUntilPong(_ nonce: UInt64) throws -> [LinkFrame] {
        try socket.send(LinkCodec.encoded(.ping(nonce)))
        while true {
            if let index = frames.firstIndex(of: .pong(nonce)) {
                let before = Array(frames[..<index])
                frames.removeSubrange(...index)
                return before
            }
            try readFrame()
        }
    }

    /// Reads the next reply frame (events are set aside).
    func readReply() throws -> LinkReply {
        while true {
            if let index = frames.firstIndex(where: { if case .reply = $0 { return true }; return false }),
               case .reply(let reply) = frames.remove(at: index) {
                return reply
            }
            try readFrame()
        }
    }

    /// Reads one frame into `frames`.
    private func readFrame() throws {
        let bytes = try socket.read(exactly: 4, timeoutMs: timeoutMs)
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        let body = try socket.read(exactly: length, timeoutMs: timeoutMs)
        try decoder.feed(bytes + body) { frames.append($0) }
    }

    func close() { socket.close() }
}

/// Starts `tagarela worker` (the binary beside the test executable: the EndToEndTests target
/// depends on it) as shard 0 of 1 on `dataDirectory`, fsync always, cheap PBKDF2, stderr
/// discarded, and waits (10 s at most) until its socket accepts. The caller kills it.
func startWorkerProcess(dataDirectory: String, socketPath: String,
                        file: StaticString = #filePath, line: UInt = #line) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tagarelaBinaryPath())
    p.arguments = ["worker", "--shard", "0", "--workers", "1", "--data", dataDirectory, "--socket", socketPath,
                   "--fsync", "always", "--pbkdf2-iterations", "10"]
    p.standardError = FileHandle(forWritingAtPath: "/dev/null")
    try p.run()
    // A process start on a loaded machine: generous, and bounded.
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
        if let c = try? LoopbackClient(unixPath: socketPath) { c.close(); return p }
        usleep(20_000)
    }
    XCTFail("worker did not open its socket within 30 s", file: file, line: line)
    return p
}

final class WorkerProcessTests: XCTestCase {
    private var dir: TempDirectory!
    private var process: Process?

    override func setUp() {
        dir = TempDirectory(prefix: "tagarela-worker")
    }

    override func tearDown() {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        dir.remove()
    }

    private var socketPath: String { dir.path + "/worker-0.sock" }

    private func startWorker() throws {
        process = try startWorkerProcess(dataDirectory: dir.path, socketPath: socketPath)
    }

    func testAcknowledgedMessagesSurviveKill9() throws {
        try startWorker()
        var client = try LinkTestClient(path: socketPath)
        XCTAssertEqual(try client.request(#"{"type":"register","username":"alice","password":"password1"}"#).0["status"], "ok")
        XCTAssertEqual(try client.request(#"{"type":"register","username":"bob","password":"password2"}"#).0["status"], "ok")
        let (login, loginReply) = try client.request(#"{"type":"login","username":"alice","password":"password1"}"#)
        XCTAssertEqual(login["status"], "ok")
        XCTAssertEqual(loginReply.authUserID, "alice")
        XCTAssertFalse(loginReply.authSessionID.isEmpty)
        let (chat, _) = try client.request(#"{"type":"create_chat","user_id":"bob"}"#, user: "alice")
        let chatID = try XCTUnwrap(chat["chat"]?["id"]?.string)

        var acked: [(seq: Int64, id: String, content: String)] = []
        for i in 0..<40 {
            let (r, _) = try client.request(#"{"type":"message","chat_id":"\#(chatID)","content":"m\#(i)","client_msg_id":"c\#(i)"}"#,
                                            user: "alice")
            XCTAssertEqual(r["status"], "ok", "message \(i): \(r)")
            acked.append((try XCTUnwrap(r["message"]?["seq"]?.int), try XCTUnwrap(r["message"]?["id"]?.string), "m\(i)"))
        }
        XCTAssertEqual(acked.map(\.seq), Array(1...40))

        // kill -9: no chance to flush anything that was not already durable.
        kill(process!.processIdentifier, SIGKILL)
        process!.waitUntilExit()
        client.close()

        try startWorker()
        client = try LinkTestClient(path: socketPath)
        let (page, _) = try client.request(#"{"type":"get_messages","chat_id":"\#(chatID)","after_seq":0,"limit":200}"#, user: "alice")
        let messages = try XCTUnwrap(page["messages"]?.array)
        XCTAssertEqual(messages.map { $0["seq"]?.int ?? -1 }, acked.map(\.seq))
        XCTAssertEqual(messages.map { $0["content"]?.string ?? "" }, acked.map(\.content))

        // A resend with the same client_msg_id returns the stored message and stores nothing new.
        let (again, _) = try client.request(#"{"type":"message","chat_id":"\#(chatID)","content":"m5","client_msg_id":"c5"}"#, user: "alice")
        XCTAssertEqual(again["message"]?["id"]?.string, acked[5].id)
        XCTAssertEqual(again["message"]?["seq"]?.int, 6)
        let (next, _) = try client.request(#"{"type":"message","chat_id":"\#(chatID)","content":"new"}"#, user: "alice")
        XCTAssertEqual(next["message"]?["seq"]?.int, 41, "the resend must not have used a seq")

        // The login's session survives the restart too: auth with the token works.
        let token = try XCTUnwrap(login["token"]?.string)
        XCTAssertEqual(try client.request(#"{"type":"auth","token":"\#(token)"}"#).0["status"], "ok")
        client.close()
    }

    /// Subscription routing: an event goes, with only the subscribed users' ids, to the links
    /// that subscribed one of its users (the origin's share inside the reply), and never to a
    /// link that holds none of them; an unsubscribe stops it.
    func testEventsGoOnlyToSubscribedLinksWithTheirUsers() throws {
        try startWorker()
        let a = try LinkTestClient(path: socketPath)  // "loop" of alice, the sender
        let b = try LinkTestClient(path: socketPath)  // "loop" of bob
        let c = try LinkTestClient(path: socketPath)  // "loop" of carol only
        defer { a.close(); b.close(); c.close() }
        for (name, pw) in [("alice", "password1"), ("bob", "password2"), ("carol", "password3")] {
            XCTAssertEqual(try a.request(#"{"type":"register","username":"\#(name)","password":"\#(pw)"}"#).0["status"], "ok")
        }
        let (chat, _) = try a.request(#"{"type":"create_chat","user_id":"bob"}"#, user: "alice")
        let chatID = try XCTUnwrap(chat["chat"]?["id"]?.string)
        try a.socket.send(LinkCodec.encoded(.subscribe(["alice"])))
        try b.socket.send(LinkCodec.encoded(.subscribe(["bob", "dave"])))
        try c.socket.send(LinkCodec.encoded(.subscribe(["carol"])))
        // The pongs prove each subscribe was handled (and drain what came before).
        _ = try a.framesUntilPong(1)
        _ = try b.framesUntilPong(1)
        _ = try c.framesUntilPong(1)

        let (sent, reply) = try a.request(#"{"type":"message","chat_id":"\#(chatID)","content":"hi"}"#, user: "alice")
        XCTAssertEqual(sent["status"], "ok")
        XCTAssertEqual(reply.events.map(\.userIDs), [["alice"]], "the origin's share rides in the reply, its users only")
        let toB = try b.framesUntilPong(2)
        guard toB.count == 1, case .events(let events) = toB[0] else {
            return XCTFail("bob's link gets one events frame: \(toB)")
        }
        XCTAssertEqual(events.map(\.userIDs), [["bob"]], "only bob's id, not alice's")
        XCTAssertEqual(events[0].excludeConnectionID, 7)
        XCTAssertTrue(String(decoding: events[0].json, as: UTF8.self).contains("message:new"))
        XCTAssertEqual(try c.framesUntilPong(2), [], "carol's link holds no receiver: nothing")

        // Bob's loop lets go: his link gets nothing more; alice's share still comes.
        try b.socket.send(LinkCodec.encoded(.unsubscribe(["bob"])))
        _ = try b.framesUntilPong(3)
        let (_, again) = try a.request(#"{"type":"message","chat_id":"\#(chatID)","content":"again"}"#, user: "alice")
        XCTAssertEqual(again.events.map(\.userIDs), [["alice"]])
        XCTAssertEqual(try b.framesUntilPong(4), [])
        XCTAssertEqual(try c.framesUntilPong(4), [])
    }

    /// A complete last journal record with a bad checksum: the restarted worker cuts it (the
    /// next record takes its place), keeps its bytes in a side file and publishes the count in
    /// its stats file, which the gateway's /metrics reads.
    func testCorruptLastRecordIsCountedInTheStatsFile() throws {
        let statsPath = dir.path + "/worker-0.stats"
        try startWorker()
        var client = try LinkTestClient(path: socketPath)
        XCTAssertEqual(try client.request(#"{"type":"register","username":"alice","password":"password1"}"#).0["status"], "ok")
        XCTAssertEqual(try client.request(#"{"type":"register","username":"bob","password":"password2"}"#).0["status"], "ok")
        XCTAssertEqual(try String(contentsOfFile: statsPath, encoding: .utf8), "journal_corrupt_records 0\n")
        kill(process!.processIdentifier, SIGKILL)
        process!.waitUntilExit()
        client.close()

        let journal = dir.path + "/shard-0/journal-0.log"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: journal))
        bytes[bytes.count - 1] ^= 0x01  // inside bob's record
        try bytes.write(to: URL(fileURLWithPath: journal))
        try startWorker()
        client = try LinkTestClient(path: socketPath)
        defer { client.close() }
        XCTAssertEqual(try String(contentsOfFile: statsPath, encoding: .utf8), "journal_corrupt_records 1\n")
        let sideFiles = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/shard-0").filter { $0.contains(".corrupt-") }
        XCTAssertEqual(sideFiles.count, 1, "\(sideFiles)")
        XCTAssertEqual(try client.request(#"{"type":"register","username":"alice","password":"password1"}"#).0["code"], "conflict")
        XCTAssertEqual(try client.request(#"{"type":"register","username":"bob","password":"password2"}"#).0["status"], "ok",
                       "bob's record was the cut one")
    }

    func testPingIsAnsweredAndBrokenFrameDropsOnlyThatLink() throws {
        try startWorker()
        let good = try LinkTestClient(path: socketPath)
        let bad = try LoopbackClient(unixPath: socketPath)
        try bad.send([0, 0, 0, 1, 99])  // a frame of unknown type 99
        XCTAssertEqual(try bad.readUntilClosed(timeoutMs: 5000), [])
        try good.socket.send(LinkCodec.encoded(.ping(42)))
        let reply = try good.socket.read(exactly: LinkCodec.encoded(.pong(42)).count)
        XCTAssertEqual(reply, LinkCodec.encoded(.pong(42)))
        XCTAssertEqual(try good.request(#"{"type":"register","username":"carol","password":"password3"}"#).0["status"], "ok")
        good.close()
    }
}
