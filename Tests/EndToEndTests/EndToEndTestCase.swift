// EndToEndTestCase: the base of the chat-protocol test classes: one instance per class, clients closed after each test, shared assertions.
import Foundation
import TestSupport
import XCTest

/// Starts one instance (3 workers unless a subclass says otherwise) before a class's first test and
/// stops it after its last; every client a test opens is closed in `tearDown`.
class EndToEndTestCase: XCTestCase {
    /// Instances by test class, started in `class setUp`, stopped in `class tearDown`.
    private static var instances: [ObjectIdentifier: E2EInstance] = [:]
    private static var startErrors: [ObjectIdentifier: String] = [:]

    /// Workers of the class's instance.
    class var workerCount: Int { 3 }

    /// More `deploy/tagarela start` flags for the class's instance.
    class var extraFlags: [String] { [] }

    /// The running instance of this class.
    var instance: E2EInstance { EndToEndTestCase.instances[ObjectIdentifier(type(of: self))]! }
    var port: Int { instance.port }
    var workers: Int { instance.workers }
    private var clients: [E2EChatClient] = []

    override class func setUp() {
        super.setUp()
        let key = ObjectIdentifier(self)
        do {
            let instance = try E2EInstance(workers: workerCount, extraFlags: extraFlags)
            instances[key] = instance
            try instance.start()
        } catch {
            startErrors[key] = "\(error)"
        }
    }

    override class func tearDown() {
        let key = ObjectIdentifier(self)
        instances.removeValue(forKey: key)?.stop()
        startErrors.removeValue(forKey: key)
        super.tearDown()
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        if let error = EndToEndTestCase.startErrors[ObjectIdentifier(type(of: self))] {
            throw E2EError.process("the instance did not start: \(error)")
        }
    }

    override func tearDown() {
        for client in clients { client.close() }
        clients.removeAll()
        super.tearDown()
    }

    // MARK: - Clients and users

    /// A new connection of `kind`, closed after the test.
    func connect(_ kind: E2ETransportKind, _ label: String) throws -> E2EChatClient {
        let client = try E2EChatClient(kind, port: port, label: label)
        clients.append(client)
        return client
    }

    /// Users named `prefix` + n, one on each worker of `onWorkers` (in that order).
    func users(_ prefix: String, onWorkers wanted: [Int]) -> [E2EUser] {
        E2ESlots.usernames(prefix: prefix, onWorkers: wanted, workers: workers).map { E2EUser($0) }
    }

    /// Registers `user` and logs in on a new connection of `kind`.
    func registeredClient(_ user: E2EUser, _ kind: E2ETransportKind, label: String? = nil) throws -> E2EChatClient {
        let client = try connect(kind, label ?? user.name)
        try client.registerAndLogin(user)
        return client
    }

    /// A new connection of `kind` authenticated as `user` with a fresh `login`.
    func loggedInClient(_ user: E2EUser, _ kind: E2ETransportKind, label: String) throws -> E2EChatClient {
        let client = try connect(kind, label)
        try client.login(user)
        return client
    }

    /// The worker that owns `key` (a username or a chat id).
    func worker(of key: String) -> Int { E2ESlots.worker(for: key, workers: workers) }

    /// Waits (polling the wall clock, no fixed sleep) until it is past `ms`, so the next server
    /// timestamp is strictly later than one already seen.
    func waitForWallClock(after ms: Int) {
        E2EProcess.waitUntil(timeoutMs: 2000) { Int(Date().timeIntervalSince1970 * 1000) > ms }
    }

    /// Waits (bounded, generously: a loaded machine) until /healthz answers 200. After a worker's
    /// restart, one connection answered means one loop has its link back; the others reconnect
    /// on their own back-off, and /healthz is 200 once every loop has, so a new connection is
    /// served whichever loop it lands on.
    func waitUntilHealthy(timeoutMs: Int = 20_000, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: timeoutMs, intervalMs: 50) {
            (try? E2EHTTP.get(port: self.port, "/healthz").status) == 200
        }, "/healthz is 200 again\n\(instance.logTail())", file: file, line: line)
    }

    // MARK: - Assertions

    /// Asserts `reply` is an ok response of `type`; returns it for chaining.
    @discardableResult
    func assertOK(_ reply: E2EJSON, _ type: String, file: StaticString = #filePath, line: UInt = #line) -> E2EJSON {
        XCTAssertEqual(reply["type"]?.string, type, "\(reply)", file: file, line: line)
        XCTAssertEqual(reply["status"]?.string, "ok", "\(reply)", file: file, line: line)
        return reply
    }

    /// Asserts `reply` is an error response of `type` with `code` and a non-empty message.
    func assertError(_ reply: E2EJSON, _ type: String, _ code: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(reply["type"]?.string, type, "\(reply)", file: file, line: line)
        XCTAssertEqual(reply["status"]?.string, "error", "\(reply)", file: file, line: line)
        XCTAssertEqual(reply["code"]?.string, code, "\(reply)", file: file, line: line)
        XCTAssertFalse((reply["message"]?.string ?? "").isEmpty, "an error carries a message: \(reply)", file: file, line: line)
    }

    /// Asserts `user` is the user object of `name` (PROTOCOL.md 2.1).
    func assertUser(_ user: E2EJSON?, _ name: String, displayName: String? = nil,
                    file: StaticString = #filePath, line: UInt = #line) {
        guard let user = user else { return XCTFail("no user object", file: file, line: line) }
        XCTAssertEqual(user["id"]?.string, name, "\(user)", file: file, line: line)
        XCTAssertEqual(user["username"]?.string, name, "\(user)", file: file, line: line)
        XCTAssertEqual(user["display_name"]?.string, displayName ?? name, "\(user)", file: file, line: line)
        XCTAssertNotNil(user["created_at"]?.int, "created_at is an integer: \(user)", file: file, line: line)
    }

    /// Asserts `chat` is a chat object with these fields (PROTOCOL.md 2.2); member order is free.
    func assertChat(_ chat: E2EJSON?, id: String? = nil, kind: String, name: String?, members: [String],
                    unread: Int? = nil, file: StaticString = #filePath, line: UInt = #line) {
        guard let chat = chat else { return XCTFail("no chat object", file: file, line: line) }
        let required = ["created_at", "id", "kind", "last_message", "member_ids", "name", "unread_count"]
        XCTAssertEqual(Set(required).subtracting(chat.keys), [], "missing chat fields: \(chat)", file: file, line: line)
        if let id = id { XCTAssertEqual(chat["id"]?.string, id, "\(chat)", file: file, line: line) }
        XCTAssertEqual(chat["kind"]?.string, kind, "\(chat)", file: file, line: line)
        if let name = name {
            XCTAssertEqual(chat["name"]?.string, name, "\(chat)", file: file, line: line)
        } else {
            XCTAssertEqual(chat["name"], .null, "a direct chat has a null name: \(chat)", file: file, line: line)
        }
        XCTAssertEqual(Set(chat["member_ids"]?.strings ?? []), Set(members), "\(chat)", file: file, line: line)
        XCTAssertEqual(chat["member_ids"]?.strings?.count, members.count, "no duplicate members: \(chat)", file: file, line: line)
        XCTAssertNotNil(chat["created_at"]?.int, "\(chat)", file: file, line: line)
        if let unread = unread { XCTAssertEqual(chat["unread_count"]?.int, unread, "\(chat)", file: file, line: line) }
    }

    /// Asserts `message` is a message object with these fields (PROTOCOL.md 2.3).
    func assertMessage(_ message: E2EJSON?, chat: String, seq: Int, sender: String, content: String,
                       clientMsgID: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        guard let message = message else { return XCTFail("no message object", file: file, line: line) }
        let required = ["chat_id", "chat_session_id", "client_msg_id", "content", "id", "read_at", "read_by",
                        "sender_id", "seq", "timestamp"]
        XCTAssertEqual(Set(required).subtracting(message.keys), [], "missing message fields: \(message)", file: file, line: line)
        XCTAssertEqual(message["id"]?.string, "\(chat)/\(seq)", "PROTOCOL.md 3.1: <chat_id>/<seq>: \(message)", file: file, line: line)
        XCTAssertEqual(message["chat_id"]?.string, chat, "\(message)", file: file, line: line)
        XCTAssertEqual(message["chat_session_id"]?.string, chat, "\(message)", file: file, line: line)
        XCTAssertEqual(message["seq"]?.int, seq, "\(message)", file: file, line: line)
        XCTAssertEqual(message["sender_id"]?.string, sender, "\(message)", file: file, line: line)
        XCTAssertEqual(message["content"]?.string, content, "\(message)", file: file, line: line)
        XCTAssertNotNil(message["timestamp"]?.int, "\(message)", file: file, line: line)
        if let clientMsgID = clientMsgID {
            XCTAssertEqual(message["client_msg_id"]?.string, clientMsgID, "\(message)", file: file, line: line)
        } else {
            XCTAssertEqual(message["client_msg_id"], .null, "\(message)", file: file, line: line)
        }
    }

    /// Asserts `id` is a gateway-minted group id: `g:` and 24 hex digits (PROTOCOL.md 3.1).
    func assertGroupID(_ id: String, file: StaticString = #filePath, line: UInt = #line) {
        let hex = id.dropFirst(2)
        XCTAssertTrue(id.hasPrefix("g:") && hex.count == 24 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase },
                      "PROTOCOL.md 3.1 says group ids are g: and 24 hex digits: \(id)", file: file, line: line)
    }

    /// Asserts the inbox of `client` holds no event of `type` after a barrier round trip.
    func assertNoEvent(_ client: E2EChatClient, _ type: String, _ why: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        try client.barrier()
        let extra = client.drainEvents(type)
        XCTAssertEqual(extra.count, 0, "\(client.label): \(why): \(extra)", file: file, line: line)
    }
}
