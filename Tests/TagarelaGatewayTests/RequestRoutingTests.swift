// RequestRoutingTests: request validation and routing decisions, without sockets.
import XCTest
import TagarelaJSON
import TagarelaLink
import TagarelaModel
@testable import TagarelaGateway

final class RequestRoutingTests: XCTestCase {
    func envelope(_ text: String) -> RequestEnvelope {
        Array(text.utf8).withUnsafeBytes { RequestEnvelope.parse($0) }
    }

    /// The model's refusal of `text` as the gateway reads it, or nil when it is routed.
    func refused(_ text: String) -> RequestFailure? {
        if case .invalid(let failure) = envelope(text) { return failure }
        return nil
    }

    func invalid(_ text: String) -> (type: String, requestID: String?)? {
        refused(text).map { ($0.type, $0.requestID) }
    }

    func testEnvelopeRejectsNonJSONAndNonObjects() {
        XCTAssertEqual(invalid("{nope")?.type, "error")
        XCTAssertEqual(invalid("[1,2]")?.type, "error")
        XCTAssertEqual(invalid("\"login\"")?.type, "error")
    }

    func testEnvelopeChecksTypeAndRequestID() {
        XCTAssertEqual(invalid(#"{"request_id":"r1"}"#)?.type, "error")
        XCTAssertEqual(invalid(#"{"request_id":"r1"}"#)?.requestID, "r1")
        XCTAssertEqual(invalid(#"{"type":5,"request_id":"r2"}"#)?.requestID, "r2")
        let unknown = invalid(#"{"type":"users_exist","request_id":"r3"}"#)
        XCTAssertEqual(unknown?.type, "users_exist")
        XCTAssertEqual(unknown?.requestID, "r3")
        let long = String(repeating: "x", count: 65)
        XCTAssertNotNil(invalid("{\"type\":\"login\",\"request_id\":\"\(long)\"}"))
        XCTAssertNotNil(invalid(#"{"type":"login","request_id":7}"#))
        guard case .valid(let facts) = envelope("{\"type\":\"login\",\"username\":\"ana\",\"request_id\":\"\(String(long.dropLast()))\"}") else {
            return XCTFail("a 64-character request_id is fine")
        }
        XCTAssertEqual(facts.type, .login)
        XCTAssertEqual(facts.requestID?.count, 64)
    }

    func route(_ text: String, user: String = "alice", workers: Int = 4) -> Route? {
        guard case .valid(let facts) = envelope(text) else {
            XCTFail("invalid test request \(text)")
            return nil
        }
        return RequestRouter.route(facts.key, userID: user, workers: workers, mintGroupID: { "g_fixed" })
    }

    func testIdentityRoutesByUsername() {
        XCTAssertEqual(route(#"{"type":"login","username":"Bob","password":"x"}"#), .shard(Slots.worker(for: "bob", workers: 4)))
        XCTAssertEqual(route(#"{"type":"register","username":"carol"}"#), .shard(Slots.worker(for: "carol", workers: 4)))
        XCTAssertEqual(route(#"{"type":"auth","token":"dave.abcdef"}"#), .shard(Slots.worker(for: "dave", workers: 4)))
        XCTAssertEqual(route(#"{"type":"logout"}"#, user: "erin"), .shard(Slots.worker(for: "erin", workers: 4)))
        XCTAssertEqual(route(#"{"type":"logout_all"}"#, user: "erin"), .shard(Slots.worker(for: "erin", workers: 4)))
        XCTAssertEqual(route(#"{"type":"change_password","old_password":"a","new_password":"b"}"#, user: "erin"),
                       .shard(Slots.worker(for: "erin", workers: 4)))
        XCTAssertTrue(RequestType.logoutAll.changesIdentity && RequestType.changePassword.changesIdentity)
        XCTAssertTrue(RequestType.logoutAll.needsAuthentication && RequestType.changePassword.needsAuthentication)
        // Usernames may hold dots: the user is what stands before the last dot.
        XCTAssertEqual(route(#"{"type":"auth","token":"d.ve.abcdef"}"#), .shard(Slots.worker(for: "d.ve", workers: 4)))
        // A token of no valid form still reaches a shard, which answers bad_credentials.
        XCTAssertEqual(route(#"{"type":"auth","token":"nodot"}"#), .shard(Slots.worker(for: "", workers: 4)))
        XCTAssertNotNil(refused(#"{"type":"auth","token":""}"#), "empty token")
        XCTAssertNotNil(refused(#"{"type":"auth","token":7}"#), "token of the wrong type")
        XCTAssertNotNil(refused(#"{"type":"login"}"#), "missing username")
    }

    func testChatRequestsRouteByChatID() {
        for type in ["message", "get_messages", "mark_read", "typing"] {
            XCTAssertEqual(route("{\"type\":\"\(type)\",\"chat_id\":\"g_1\"}"), .shard(Slots.worker(for: "g_1", workers: 4)))
        }
        XCTAssertEqual(route(#"{"type":"remove_group_member","group_id":"g_9","user_id":"x"}"#),
                       .shard(Slots.worker(for: "g_9", workers: 4)))
        XCTAssertNotNil(refused(#"{"type":"message","chat_id":7}"#), "chat_id must be a string")
        // A direct chat id holds two usernames: up to 67 characters.
        let direct = DirectChatID.make(String(repeating: "a", count: 32), String(repeating: "b", count: 32))
        XCTAssertEqual(route("{\"type\":\"typing\",\"chat_id\":\"\(direct)\"}"), .shard(Slots.worker(for: direct, workers: 4)))
        let long = String(repeating: "c", count: 68)
        XCTAssertNotNil(refused("{\"type\":\"typing\",\"chat_id\":\"\(long)\"}"), "id too long")
    }

    func testCreateChatChecksTheOtherUserThenGoesToTheDirectChatShard() {
        let chatID = DirectChatID.make("alice", "bob")
        XCTAssertEqual(chatID, DirectChatID.make("BOB", "alice"))
        XCTAssertEqual(route(#"{"type":"create_chat","user_id":"Bob"}"#),
                       .createChat(target: "bob", targetShard: Slots.worker(for: "bob", workers: 4),
                                   chatID: chatID, chatShard: Slots.worker(for: chatID, workers: 4)))
    }

    func testCreateGroupGroupsMemberChecksByShard() {
        guard case .createGroup(let id, let shard, let checks)? =
                route(#"{"type":"create_group","group_name":"g","member_ids":["bob","carol","BOB","alice","dave"]}"#) else {
            return XCTFail("create_group route")
        }
        XCTAssertEqual(id, "g_fixed")
        XCTAssertEqual(shard, Slots.worker(for: "g_fixed", workers: 4))
        // The creator is not checked; duplicates are folded; every other member is checked once.
        XCTAssertEqual(Set(checks.flatMap { $0.userIDs }), ["bob", "carol", "dave"])
        XCTAssertEqual(checks.flatMap { $0.userIDs }.count, 3)
        for check in checks {
            for user in check.userIDs { XCTAssertEqual(Slots.worker(for: user, workers: 4), check.shard) }
        }
        let many = (0...100).map { "\"u\($0)\"" }.joined(separator: ",")
        XCTAssertNotNil(refused("{\"type\":\"create_group\",\"group_name\":\"g\",\"member_ids\":[\(many)]}"), "more than 100 members")
        XCTAssertTrue(GroupID.mint().hasPrefix("g:"))
        XCTAssertEqual(GroupID.mint().count, 26)
        XCTAssertNotEqual(GroupID.mint(), GroupID.mint())
    }

    func testAddMemberChecksTheUser() {
        XCTAssertEqual(route(#"{"type":"add_group_member","group_id":"g_2","user_id":"Zed"}"#),
                       .addGroupMember(userID: "zed", userShard: Slots.worker(for: "zed", workers: 4),
                                       chatShard: Slots.worker(for: "g_2", workers: 4)))
    }

    func testScatterAndGatewayRoutes() {
        XCTAssertEqual(route(#"{"type":"get_user_chats"}"#), .userChats(limit: 20, cursor: nil))
        XCTAssertEqual(route(#"{"type":"get_user_chats","limit":50,"cursor":"17 g:ab"}"#),
                       .userChats(limit: 50, cursor: ChatCursor(activity: 17, chatID: "g:ab")))
        for bad in [#"{"type":"get_user_chats","limit":51}"#, #"{"type":"get_user_chats","limit":0}"#,
                    #"{"type":"get_user_chats","cursor":"17"}"#, #"{"type":"get_user_chats","cursor":7}"#] {
            XCTAssertNotNil(refused(bad), "\(bad) must be refused")
        }
        XCTAssertEqual(route(#"{"type":"leave_group","group_id":"g:1"}"#), .shard(Slots.worker(for: "g:1", workers: 4)))
        XCTAssertEqual(route(#"{"type":"search_users","query":"al"}"#), .searchUsers(query: "al", limit: 20))
        XCTAssertEqual(route(#"{"type":"search_users","query":"al","limit":100}"#), .searchUsers(query: "al", limit: 100))
        XCTAssertNotNil(refused(#"{"type":"search_users","query":"al","limit":101}"#), "limit")
        XCTAssertNotNil(refused(#"{"type":"search_users","query":"al","limit":0}"#), "limit")
        XCTAssertEqual(route(#"{"type":"get_presence","user_ids":["A","b"]}"#), .presence(userIDs: ["a", "b"]))
        let many = (0...100).map { "\"u\($0)\"" }.joined(separator: ",")
        XCTAssertNotNil(refused("{\"type\":\"get_presence\",\"user_ids\":[\(many)]}"), "101 ids")
    }

    /// User ids fold only ASCII case (PROTOCOL.md 3.1): under Unicode rules KELVIN SIGN
    /// lower-cases to "k", and "\u{212A}im" would be answered as, or routed to, "kim".
    func testUserIDsFoldOnlyASCIICase() {
        XCTAssertEqual(route(#"{"type":"get_presence","user_ids":["\#u{212A}IM","KIM"]}"#), .presence(userIDs: ["\u{212A}im", "kim"]))
        // Neither names "kim": no such user for create_chat, not a username for login (the
        // answers the worker gives; the gateway reads these fields by the model's rules).
        XCTAssertEqual(refused(#"{"type":"create_chat","user_id":"\#u{212A}im"}"#)?.error.code, .notFound)
        XCTAssertEqual(refused(#"{"type":"login","username":"\#u{212A}IM","password":"x"}"#)?.error.code, .badRequest)
    }

    func testOnlyIdentityRequestsAreAllowedBeforeAuth() {
        XCTAssertEqual(RequestType.clientTypes.filter { !$0.needsAuthentication }, [.register, .login, .auth])
        XCTAssertEqual(Set(RequestType.allCases.map { $0.index }).count, RequestType.allCases.count)
    }
}
