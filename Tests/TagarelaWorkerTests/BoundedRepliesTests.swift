// BoundedRepliesTests: the worker answers too_large rather than send an oversize response, and splits a reply's events into frames the gateway accepts (issue 8).
import Foundation
import TagarelaJSON
import TagarelaLink
import TagarelaWire
@testable import TagarelaWorker
import TestSupport
import XCTest

final class BoundedRepliesTests: XCTestCase {
    /// The worker's frame bound is the gateway's: a longer frame would drop the link.
    func testTheWorkersFrameBoundIsTheGateways() {
        let config = WorkerConfig(shard: 0, workers: 1, dataDirectory: "/nonexistent", socketPath: "/nonexistent")
        XCTAssertEqual(config.replyFrameBytesMax, Limits.default.linkFrameBytesMax)
        XCTAssertLessThanOrEqual(config.responseBytesMax + 512, config.replyFrameBytesMax)
    }

    func testAResponsePastTheBoundIsAnsweredTooLargeAndTheLinkStays() throws {
        try withWorker({ $0.responseBytesMax = 6_000 }) { path in
            let client = try LinkTestClient(path: path)
            defer { client.close() }
            _ = try client.request(#"{"type":"create_group","group_name":"g","member_ids":[]}"#, user: "alice", arg: "g:1")
            let text = String(repeating: "y", count: 2_000)
            for _ in 0..<4 {
                let (sent, _) = try client.request(#"{"type":"message","chat_id":"g:1","content":"\#(text)"}"#, user: "alice")
                XCTAssertEqual(sent["status"], "ok")
            }
            let (big, _) = try client.request(#"{"type":"get_messages","request_id":"h","chat_id":"g:1"}"#, user: "alice")
            XCTAssertEqual(big["code"], "too_large", "\(big)")
            XCTAssertEqual(big["type"], "get_messages")
            XCTAssertEqual(big["request_id"], "h")
            let (small, _) = try client.request(#"{"type":"get_messages","chat_id":"g:1","limit":2}"#, user: "alice")
            XCTAssertEqual(small["messages"]?.array?.count, 2, "a smaller page fits, on the same link")
        }
    }

    /// Adding a member to a group whose members all have different unread counts makes one
    /// chat:updated per count; with a small frame bound they must arrive in several frames,
    /// none past the bound, all of them.
    func testEventsPastTheFrameBoundTravelInFurtherFrames() throws {
        let frameMax = 48 * 1024
        let members = (0..<30).map { String(format: "m%02d", $0) }
        try withWorker({ $0.replyFrameBytesMax = frameMax; $0.pbkdf2Iterations = 1 }) { path in
            let client = try LinkTestClient(path: path)
            defer { client.close() }
            for name in members + ["newbie"] {
                let (registered, _) = try client.request(#"{"type":"register","username":"\#(name)","password":"password"}"#)
                XCTAssertEqual(registered["status"], "ok")
            }
            let list = members.map { "\"\($0)\"" }.joined(separator: ",")
            _ = try client.request(#"{"type":"create_group","group_name":"g","member_ids":[\#(list)]}"#, user: "alice", arg: "g:1")
            let text = String(repeating: "z", count: 3_000)
            for _ in members { _ = try client.request(#"{"type":"message","chat_id":"g:1","content":"\#(text)"}"#, user: "alice") }
            for (k, m) in members.enumerated() {
                _ = try client.request(#"{"type":"mark_read","chat_id":"g:1","seq":\#(k + 1)}"#, user: m)
            }
            try client.socket.send(LinkCodec.encoded(.subscribe(members + ["alice", "newbie"])))
            var request: [UInt8] = []
            let add = #"{"type":"add_group_member","request_id":"add","group_id":"g:1","user_id":"newbie"}"#
            LinkCodec.encode(.request(LinkRequest(requestID: 999, connectionID: 7, userID: "alice", json: Array(add.utf8))), into: &request)
            try client.socket.send(request)

            // Read raw frames, checking each length before decoding, until the reply; then until
            // the pong of a ping sent after it (the events frames were written with the reply).
            var decoder = LinkDecoder(maxFrameBytes: frameMax)
            var frames: [LinkFrame] = []
            func readUntil(_ done: () -> Bool) throws {
                while !done() {
                    let head = try client.socket.read(exactly: 4, timeoutMs: 10_000)
                    let length = Int(head[0]) << 24 | Int(head[1]) << 16 | Int(head[2]) << 8 | Int(head[3])
                    XCTAssertLessThanOrEqual(length, frameMax)
                    let body = try client.socket.read(exactly: length, timeoutMs: 10_000)
                    try decoder.feed(head + body) { frames.append($0) }
                }
            }
            try readUntil { frames.contains { if case .reply(let r) = $0 { return r.requestID == 999 }; return false } }
            try client.socket.send(LinkCodec.encoded(.ping(42)))
            try readUntil { frames.contains(.pong(42)) }
            var events: [LinkEvent] = []
            for case .reply(let r) in frames where r.requestID == 999 {
                XCTAssertEqual(try JSON.parse(r.json)["status"], "ok")
            }
            var replies = 0
            for frame in frames {
                switch frame {
                case .reply(let r) where r.requestID == 999: replies += 1; events += r.events
                case .events(let e): events += e
                default: break
                }
            }
            XCTAssertEqual(replies, 1)
            XCTAssertGreaterThan(frames.count, 3, "the events needed several frames")
            let types = events.map { try! JSON.parse($0.json)["type"]!.string! }
            XCTAssertEqual(types.filter { $0 == "chat:new" }.count, 1)
            XCTAssertEqual(Set(events.flatMap(\.userIDs)), Set(members + ["newbie"]),
                           "every member got their event, whatever frame carried it")
        }
    }
}
