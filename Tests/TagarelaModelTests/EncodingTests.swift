// EncodingTests: exact bytes of user, chat, message, response, error and event objects.

import TagarelaJSON
import TagarelaModel
import XCTest

final class EncodingTests: XCTestCase {
    func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    func testUser() {
        XCTAssertEqual(text(User(username: "alice", displayName: "Alice \"A\"", createdAt: 5).encoded()),
                       #"{"id":"alice","username":"alice","display_name":"Alice \"A\"","created_at":5}"#)
    }

    func testMessageAndChat() {
        let m = Message(chatID: "d:a:b", seq: 3, senderID: "aaa", content: "hi\n", timestamp: 10, clientMsgID: nil)
        let mb = m.encoded(readBy: ["bbb"], readAt: 12)
        XCTAssertEqual(text(mb), #"{"id":"d:a:b/3","chat_id":"d:a:b","chat_session_id":"d:a:b","seq":3,"sender_id":"aaa","content":"hi\n","timestamp":10,"client_msg_id":null,"read_by":["bbb"],"read_count":1,"read_at":12}"#)
        let c = Chat(id: "d:a:b", kind: .direct, name: nil, memberIDs: ["aaa", "bbb"], createdAt: 1, creatorID: "aaa")
        XCTAssertEqual(text(c.encoded(lastMessage: nil, unreadCount: 0)),
                       #"{"id":"d:a:b","kind":"direct","name":null,"member_ids":["aaa","bbb"],"created_at":1,"last_message":null,"unread_count":0}"#)
        let g = Chat(id: "g:1", kind: .group, name: "G", memberIDs: ["aaa"], createdAt: 1, creatorID: "aaa")
        let gj = try! JSON.parse(g.encoded(lastMessage: mb, unreadCount: 2))
        XCTAssertEqual(gj["last_message"]?["seq"], 3)
        XCTAssertEqual(gj["unread_count"], 2)
        XCTAssertEqual(gj["name"], "G")
    }

    func testResponsesAndErrors() {
        XCTAssertEqual(text(Responses.ok(type: "logout", requestID: nil)), #"{"type":"logout","status":"ok"}"#)
        XCTAssertEqual(text(Responses.ok(type: "typing", requestID: "r")), #"{"type":"typing","request_id":"r","status":"ok"}"#)
        XCTAssertEqual(text(Responses.error(type: "x", requestID: nil, code: .notFound, message: "no")),
                       #"{"type":"x","status":"error","code":"not_found","message":"no"}"#)
        XCTAssertEqual(text(Responses.rateLimited(type: "message", requestID: "1", retryAfterMs: 20)),
                       #"{"type":"message","request_id":"1","status":"error","code":"rate_limited","message":"too many requests","retry_after_ms":20}"#)
        XCTAssertEqual(text(Responses.ok(type: "message", requestID: nil, key: "message", rawValue: Array("{}".utf8))),
                       #"{"type":"message","status":"ok","message":{}}"#)
        XCTAssertEqual(text(Responses.presence(requestID: nil, statuses: [("a", true), ("b", false)])),
                       #"{"type":"get_presence","status":"ok","presence":{"a":"online","b":"offline"}}"#)
        XCTAssertEqual(ErrorCode.allCases.map(\.rawValue), ["bad_request", "too_large", "timeout", "unauthenticated", "forbidden", "not_found",
                                                           "conflict", "bad_credentials", "rate_limited", "limit_reached", "unavailable",
                                                           "internal"])
    }

    func testEvents() {
        XCTAssertEqual(text(Events.encode(type: EventType.messageNew, payload: Array(#"{"seq":1}"#.utf8))),
                       #"{"type":"message:new","payload":{"seq":1}}"#)
        XCTAssertEqual(text(Events.sessionEnded()), #"{"type":"session:ended","payload":{"reason":"logout"}}"#)
    }
}
