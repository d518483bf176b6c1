// RequestParserTests: every request type's fields, bounds and error envelopes.

import TagarelaJSON
import TagarelaModel
import XCTest

final class RequestParserTests: XCTestCase {
    func parse(_ s: String, inner: Bool = false) throws -> Request {
        try Request.parse(Array(s.utf8), allowInternal: inner)
    }

    /// What the gateway reads of `s` (`Request.routing`).
    func routingKey(_ s: String) throws -> RoutingKey {
        let r: Result<RoutingFacts, RequestFailure> = Array(s.utf8).withUnsafeBytes { raw in
            do throws(RequestFailure) { return .success(try Request.routing(raw)) } catch { return .failure(error) }
        }
        return try r.get().key
    }

    func failure(_ s: String, inner: Bool = false) -> RequestFailure? {
        do {
            _ = try Request.parse(Array(s.utf8), allowInternal: inner)
            return nil
        } catch {
            return error
        }
    }

    func testMalformedAndNonObject() {
        let f = failure("{nope")
        XCTAssertEqual(f?.type, "error")
        XCTAssertEqual(f?.error.code, .badRequest)
        XCTAssertEqual(failure("[1]")?.type, "error")
        XCTAssertEqual(failure(#"{"request_id":"r1"}"#)?.requestID, "r1")
        XCTAssertEqual(failure(#"{"request_id":"r1"}"#)?.type, "error")
    }

    func testUnknownTypeEchoesTypeAndRequestID() {
        let f = failure(#"{"type":"dance","request_id":"r9"}"#)
        XCTAssertEqual(f, RequestFailure(type: "dance", requestID: "r9", error: RequestError(.badRequest, "unknown request type")))
        let bytes = String(decoding: f!.response(), as: UTF8.self)
        XCTAssertEqual(bytes, #"{"type":"dance","request_id":"r9","status":"error","code":"bad_request","message":"unknown request type"}"#)
        // Internal types are unknown to clients.
        XCTAssertEqual(failure(#"{"type":"users_exist","user_ids":[]}"#)?.error.code, .badRequest)
        XCTAssertNoThrow(try parse(#"{"type":"users_exist","user_ids":["a.b"]}"#, inner: true))
    }

    func testRequestIDBounds() {
        let long = String(repeating: "x", count: 65)
        let f = failure(#"{"type":"logout","request_id":"\#(long)"}"#)
        XCTAssertEqual(f?.type, "logout")
        XCTAssertNil(f?.requestID)
        XCTAssertEqual(failure(#"{"type":"logout","request_id":5}"#)?.error.code, .badRequest)
        XCTAssertEqual(try parse(#"{"type":"logout","request_id":"\#(String(repeating: "é", count: 64))"}"#).body, .logout)
    }

    func testRegisterAndLogin() throws {
        let r = try parse(#"{"type":"register","username":"Alice_1","password":"12345678","display_name":"Al"}"#)
        XCTAssertEqual(r.body, .register(username: "alice_1", password: "12345678", displayName: "Al"))
        XCTAssertEqual(try routingKey(#"{"type":"register","username":"Alice_1","password":"x"}"#), .key("alice_1"),
                       "the gateway reads the username only; the password is the worker's to refuse")
        XCTAssertEqual(try parse(#"{"type":"register","username":"bob","password":"12345678","display_name":""}"#).body,
                       .register(username: "bob", password: "12345678", displayName: nil))
        for bad in [#""ab""#, #""a b c""#, #""ñandu""#, "\"\(String(repeating: "a", count: 33))\"", "7"] {
            XCTAssertEqual(failure(#"{"type":"register","username":\#(bad),"password":"12345678"}"#)?.error.code, .badRequest, bad)
        }
        XCTAssertEqual(failure(#"{"type":"login","username":"bob","password":"1234567"}"#)?.error.code, .badRequest)
        let big = String(repeating: "p", count: 1025)
        XCTAssertEqual(failure(#"{"type":"login","username":"bob","password":"\#(big)"}"#)?.error.code, .badRequest)
        XCTAssertNoThrow(try parse(#"{"type":"login","username":"bob","password":"\#(big.dropLast())"}"#))
        let longName = String(repeating: "é", count: 65)
        XCTAssertEqual(failure(#"{"type":"register","username":"bob","password":"12345678","display_name":"\#(longName)"}"#)?.error.code, .badRequest)
    }

    func testAuthRouting() throws {
        XCTAssertEqual(try routingKey(#"{"type":"auth","token":"a.b-c.QUJD"}"#), .key("a.b-c"))
        XCTAssertEqual(try routingKey(#"{"type":"auth","token":"nodot"}"#), .key(""), "still sent to a shard")
        XCTAssertEqual(FieldRules.tokenUsername("nodot"), nil)
    }

    func testChatsAndGroups() throws {
        XCTAssertEqual(try routingKey(#"{"type":"create_chat","user_id":"Bob"}"#), .directChat(userID: "bob"))
        XCTAssertEqual(FieldRules.directChatID("zed", "amy"), "d:amy:zed")
        XCTAssertEqual(failure(#"{"type":"create_chat","user_id":"x y"}"#)?.error.code, .notFound)
        let g = try parse(#"{"type":"create_group","group_name":"G","member_ids":["bob","BOB","carol"]}"#)
        XCTAssertEqual(g.body, .createGroup(name: "G", memberIDs: ["bob", "carol"]))
        XCTAssertEqual(try routingKey(#"{"type":"create_group","group_name":"G","member_ids":["bob","BOB","carol"]}"#),
                       .newGroup(memberIDs: ["bob", "carol"]))
        XCTAssertEqual(failure(#"{"type":"create_group","group_name":"","member_ids":[]}"#)?.error.code, .badRequest)
        XCTAssertEqual(failure(#"{"type":"create_group","group_name":"\#(String(repeating: "n", count: 101))","member_ids":[]}"#)?.error.code, .badRequest)
        let many = (0..<101).map { "\"user\($0)\"" }.joined(separator: ",")
        XCTAssertEqual(failure(#"{"type":"create_group","group_name":"G","member_ids":[\#(many)]}"#)?.error.code, .badRequest)
        XCTAssertEqual(failure(#"{"type":"create_group","group_name":"G","member_ids":"bob"}"#)?.error.code, .badRequest)
        XCTAssertEqual(try routingKey(#"{"type":"add_group_member","group_id":"g:1","user_id":"Bob"}"#), .addMember(groupID: "g:1", userID: "bob"))
        XCTAssertEqual(try routingKey(#"{"type":"remove_group_member","group_id":"g:1","user_id":7}"#), .key("g:1"))
        XCTAssertEqual(try routingKey(#"{"type":"get_user_chats"}"#), .userChats(limit: 20, cursor: nil))
        XCTAssertEqual(try routingKey(#"{"type":"logout_all"}"#), .requester)
    }

    func testMessages() throws {
        let m = try parse(#"{"type":"message","chat_id":"c","content":"hi","client_msg_id":"k1"}"#)
        XCTAssertEqual(m.body, .message(chatID: "c", content: "hi", clientMsgID: "k1"))
        XCTAssertEqual(failure(#"{"type":"message","chat_id":"c","content":""}"#)?.error.code, .badRequest)
        XCTAssertNoThrow(try parse(#"{"type":"message","chat_id":"c","content":"\#(String(repeating: "😀", count: 4000))"}"#))
        XCTAssertEqual(failure(#"{"type":"message","chat_id":"c","content":"\#(String(repeating: "a", count: 4001))"}"#)?.error.code, .badRequest)
        XCTAssertEqual(failure(#"{"type":"message","chat_id":"c","content":"x","client_msg_id":"\#(String(repeating: "a", count: 65))"}"#)?.error.code, .badRequest)
        XCTAssertEqual(failure(#"{"type":"message","content":"x"}"#)?.error.code, .badRequest)

        XCTAssertEqual(try parse(#"{"type":"get_messages","chat_id":"c"}"#).body,
                       .getMessages(chatID: "c", beforeSeq: nil, afterSeq: nil, limit: 50, markRead: true))
        XCTAssertEqual(try parse(#"{"type":"get_messages","chat_id":"c","after_seq":0,"limit":200,"mark_read":false}"#).body,
                       .getMessages(chatID: "c", beforeSeq: nil, afterSeq: 0, limit: 200, markRead: false))
        for bad in [#""before_seq":1,"after_seq":2"#, #""limit":0"#, #""limit":201"#, #""limit":"5""#, #""before_seq":0"#,
                    #""after_seq":-1"#, #""mark_read":1"#, #""after_seq":1.5"#] {
            XCTAssertEqual(failure(#"{"type":"get_messages","chat_id":"c",\#(bad)}"#)?.error.code, .badRequest, bad)
        }
        XCTAssertEqual(try parse(#"{"type":"mark_read","chat_id":"c","seq":3}"#).body, .markRead(chatID: "c", seq: 3))
        XCTAssertEqual(failure(#"{"type":"mark_read","chat_id":"c"}"#)?.error.code, .badRequest)
        XCTAssertEqual(try parse(#"{"type":"typing","chat_id":"c"}"#).body, .typing(chatID: "c"))
    }

    /// Issue 12: text, an attachment or both; the attachment's fields checked (its base64 is the
    /// shard's to decode); the gateway reads its size for the per-user quota.
    func testAttachments() throws {
        let m = try parse(#"{"type":"message","chat_id":"c","attachment":{"name":"Ana's photo.PNG","mime":"Image/PNG","data":"AQID"}}"#)
        XCTAssertEqual(m.body, .message(chatID: "c", content: "", clientMsgID: nil,
                                        attachment: AttachmentUpload(name: "Ana's photo.PNG", mime: "image/png", data: "AQID")))
        XCTAssertEqual(failure(#"{"type":"message","chat_id":"c"}"#)?.error.code, .badRequest, "neither")
        XCTAssertEqual(failure(#"{"type":"message","chat_id":"c","attachment":null}"#)?.error.code, .badRequest, "null is absent")
        XCTAssertEqual(failure(#"{"type":"message","chat_id":"c","attachment":"x"}"#)?.error.code, .badRequest)
        XCTAssertEqual(failure(#"{"type":"message","chat_id":"c","attachment":{"name":"a","mime":"a/b"}}"#)?.error.code, .badRequest)
        let big = String(repeating: "A", count: AttachmentRules.base64Count(ofBytes: FieldLimits.attachmentBytesMax) + 4)
        XCTAssertEqual(failure(#"{"type":"message","chat_id":"c","attachment":{"name":"a","mime":"a/b","data":"\#(big)"}}"#)?.error.code,
                       .tooLarge, "refused by its length before anything decodes it")
        let facts = try Array(#"{"type":"message","chat_id":"c","attachment":{"name":"a","mime":"a/b","data":"AQI="}}"#.utf8)
            .withUnsafeBytes { raw throws(RequestFailure) in try Request.routing(raw) }
        XCTAssertEqual(facts.attachmentBytes, 2)
        XCTAssertEqual(AttachmentRules.decodedByteCount(base64: "AQID"), 3)
        XCTAssertEqual(AttachmentRules.decodedByteCount(base64: "AQ=="), 1)
        XCTAssertEqual(try parse(#"{"type":"get_attachment","chat_id":"c","attachment_id":"7"}"#).body,
                       .getAttachment(chatID: "c", attachmentID: "7"))
        XCTAssertEqual(failure(#"{"type":"get_attachment","chat_id":"c"}"#)?.error.code, .badRequest)
        XCTAssertEqual(AttachmentRules.seq(ofID: "7"), 7)
        for bad in ["", "0", "07", "-1", "+1", "1.0", "99999999999999999999"] { XCTAssertNil(AttachmentRules.seq(ofID: bad), bad) }
    }

    func testSearchAndPresence() throws {
        XCTAssertEqual(try parse(#"{"type":"search_users","query":"Al"}"#).body, .searchUsers(query: "al", limit: 20))
        XCTAssertEqual(failure(#"{"type":"search_users","query":"a","limit":101}"#)?.error.code, .badRequest)
        let ids = (0..<101).map { "\"u\($0)\"" }.joined(separator: ",")
        XCTAssertEqual(failure(#"{"type":"get_presence","user_ids":[\#(ids)]}"#)?.error.code, .badRequest)
        XCTAssertEqual(try parse(#"{"type":"get_presence","user_ids":["Bob","x y"]}"#).body, .getPresence(userIDs: ["bob", "x y"]))
    }
}
