// PasswordPoolTests: the worker's password-hash pool is bounded, and messages never wait behind hashing.
import Foundation
import TagarelaJSON
import TagarelaLink
import TagarelaStore
@testable import TagarelaWorker
import TestSupport
import XCTest

final class PasswordPoolTests: XCTestCase {
    private func withWorker(hashJobsMax: Int, iterations: Int, _ body: (String) throws -> Void) throws {
        try withWorker({ config in
            config.pbkdf2Iterations = iterations
            config.hashThreads = 1
            config.hashJobsMax = hashJobsMax
        }, body)
    }

    func testRegistrationsPastTheBoundAreRateLimitedNotQueued() throws {
        // The four requests travel in one write and are read in one turn: the first takes the
        // only slot of the pool synchronously, so the other three find it full.
        try withWorker(hashJobsMax: 1, iterations: 20_000) { path in
            let client = try LinkTestClient(path: path)
            defer { client.close() }
            var frames: [UInt8] = []
            for i in 1...4 {
                let json = #"{"type":"register","request_id":"r\#(i)","username":"user\#(i)","password":"password\#(i)"}"#
                LinkCodec.encode(.request(LinkRequest(requestID: UInt64(i), connectionID: 1, json: Array(json.utf8))),
                                 into: &frames)
            }
            try client.socket.send(frames)
            let replies = try (1...4).map { _ in try client.readReply() }.sorted { $0.requestID < $1.requestID }
            let bodies = try replies.map { try JSON.parse($0.json) }
            XCTAssertEqual(bodies[0]["status"], "ok", "the first registration takes the pool: \(bodies[0])")
            for body in bodies.dropFirst() {
                XCTAssertEqual(body["code"], "rate_limited", "\(body)")
                XCTAssertEqual(body["retry_after_ms"]?.int, 1000)
                XCTAssertEqual(body["type"], "register")
            }
            XCTAssertEqual(bodies.map { $0["request_id"]?.string ?? "" }, ["r1", "r2", "r3", "r4"])
        }
    }

    func testMessagesDoNotWaitForPasswordHashing() throws {
        try withWorker(hashJobsMax: 16, iterations: 50_000) { path in
            let client = try LinkTestClient(path: path)
            defer { client.close() }
            _ = try client.request(#"{"type":"register","username":"ann","password":"password1"}"#)
            _ = try client.request(#"{"type":"register","username":"ben","password":"password2"}"#)
            let (chat, _) = try client.request(#"{"type":"create_chat","user_id":"ben"}"#, user: "ann")
            let chatID = try XCTUnwrap(chat["chat"]?["id"]?.string)
            // A registration (tens of milliseconds of hashing) and, right behind it, a message: the
            // message's reply must come first, while the hash still runs.
            var frames: [UInt8] = []
            let login = #"{"type":"register","username":"cat","password":"password3"}"#
            LinkCodec.encode(.request(LinkRequest(requestID: 900, connectionID: 1, json: Array(login.utf8))), into: &frames)
            let message = #"{"type":"message","chat_id":"\#(chatID)","content":"hi"}"#
            LinkCodec.encode(.request(LinkRequest(requestID: 901, connectionID: 1, userID: "ann",
                                                  json: Array(message.utf8))), into: &frames)
            try client.socket.send(frames)
            let first = try client.readReply()
            XCTAssertEqual(first.requestID, 901, "the message waited behind the password hash")
            XCTAssertEqual(try client.readReply().requestID, 900)
        }
    }
}
