// IdentityTests: register, login, auth, logout and search_users (PROTOCOL.md 2.1) over WebSocket and raw TCP, with users on three shards.
import TestSupport
import XCTest

final class IdentityTests: EndToEndTestCase {
    func testRegisterLoginAuthOverWebSocket() throws { try registerLoginAuth(.webSocket, "idw") }
    func testRegisterLoginAuthOverNDJSON() throws { try registerLoginAuth(.ndjson, "idt") }
    func testRegisterLoginAuthOverCBOR() throws { try registerLoginAuth(.cbor, "idc") }
    func testLogoutEndsOnlyThatSessionOverWebSocket() throws { try logoutEndsOnlyThatSession(.webSocket, "low") }
    func testLogoutEndsOnlyThatSessionOverNDJSON() throws { try logoutEndsOnlyThatSession(.ndjson, "lot") }
    func testRequestPipelinedAfterLoginSeesTheSessionOverWebSocket() throws { try pipelinedAfterLogin(.webSocket, "plw") }
    func testRequestPipelinedAfterLoginSeesTheSessionOverNDJSON() throws { try pipelinedAfterLogin(.ndjson, "plt") }
    func testSearchUsersMergesShardsOverWebSocket() throws { try searchUsersMergesShards(.webSocket, "srchw") }
    func testSearchUsersMergesShardsOverNDJSON() throws { try searchUsersMergesShards(.ndjson, "srcht") }

    private func registerLoginAuth(_ kind: E2ETransportKind, _ prefix: String) throws {
        let names = users(prefix, onWorkers: [0, 1, 2]).map { $0.name }
        let password = "pass-word-1"
        let c = try connect(kind, "c")

        assertError(try c.request("get_user_chats"), "get_user_chats", "unauthenticated")
        assertError(try c.request("message", [("chat_id", "x"), ("content", "hi")]), "message", "unauthenticated")

        // Usernames are compared case-insensitively and stored lower-case.
        let registered = try c.request("register", [("username", .string(names[0].uppercased())),
                                                    ("password", .string(password)), ("display_name", "Zé Ninguém")])
        assertOK(registered, "register")
        assertUser(registered["user"], names[0], displayName: "Zé Ninguém")
        assertError(try c.request("register", [("username", .string(names[0])), ("password", .string(password))]),
                    "register", "conflict")

        // Field bounds.
        for bad in ["ab", "bad name", "has!bang", String(repeating: "a", count: 33)] {
            assertError(try c.request("register", [("username", .string(bad)), ("password", .string(password))]),
                        "register", "bad_request")
        }
        assertError(try c.request("register", [("username", .string(prefix + "short")), ("password", "1234567")]),
                    "register", "bad_request")
        assertError(try c.request("register", [("username", .string(prefix + "long")), ("password", .string(password)),
                                               ("display_name", .string(String(repeating: "d", count: 65)))]),
                    "register", "bad_request")
        assertError(try c.request("register", [("username", .string(prefix + "nopw"))]), "register", "bad_request")
        // display_name: 64 characters (Unicode scalars) pass, 65 do not.
        let wide = String(repeating: "ç", count: 64)
        let wideUser = assertOK(try c.request("register", [("username", .string(prefix + "wide")), ("password", .string(password)),
                                                           ("display_name", .string(wide))]), "register")
        assertUser(wideUser["user"], prefix + "wide", displayName: wide)
        assertError(try c.request("register", [("username", .string(prefix + "wider")), ("password", .string(password)),
                                               ("display_name", .string(wide + "ç"))]), "register", "bad_request")
        assertError(try c.request("register", [("username", 42), ("password", .string(password))]), "register", "bad_request")

        // Users on the two other shards: display_name defaults to the username.
        for name in names.dropFirst() {
            let reply = assertOK(try c.request("register", [("username", .string(name)), ("password", .string(password))]), "register")
            assertUser(reply["user"], name)
        }

        // Registering does not authenticate the connection.
        assertError(try c.request("get_user_chats"), "get_user_chats", "unauthenticated")

        // Login: wrong password and unknown user look the same.
        assertError(try c.request("login", [("username", .string(names[1])), ("password", "wrong-password")]),
                    "login", "bad_credentials")
        assertError(try c.request("login", [("username", .string(prefix + "nobody")), ("password", .string(password))]),
                    "login", "bad_credentials")
        assertError(try c.request("get_user_chats"), "get_user_chats", "unauthenticated")

        var tokens: [String] = []
        for name in names {
            let conn = try connect(kind, name)
            let login = assertOK(try conn.request("login", [("username", .string(name.uppercased())), ("password", .string(password))]), "login")
            assertUser(login["user"], name, displayName: name == names[0] ? "Zé Ninguém" : nil)
            let token = login["token"]?.string ?? ""
            XCTAssertGreaterThanOrEqual(token.count, 43, "a token carries at least 256 bits: \(login)")
            XCTAssertFalse(tokens.contains(token))
            tokens.append(token)
            let chats = assertOK(try conn.request("get_user_chats"), "get_user_chats")
            XCTAssertEqual(chats["chats"], .array([]), "\(chats)")
        }

        // auth on another connection, for each shard's user.
        for (name, token) in zip(names, tokens) {
            let other = try connect(kind, "auth-" + name)
            let auth = assertOK(try other.request("auth", [("token", .string(token))]), "auth")
            assertUser(auth["user"], name, displayName: name == names[0] ? "Zé Ninguém" : nil)
            assertOK(try other.request("get_user_chats"), "get_user_chats")
        }

        // A forged token (right user, wrong secret) and garbage do not authenticate.
        let forger = try connect(kind, "forger")
        let forged = names[2] + "." + String(repeating: "A", count: 43)
        assertError(try forger.request("auth", [("token", .string(forged))]), "auth", "bad_credentials")
        assertError(try forger.request("auth", [("token", "no-dot-here")]), "auth", "bad_credentials")
        assertError(try forger.request("get_user_chats"), "get_user_chats", "unauthenticated")
    }

    private func logoutEndsOnlyThatSession(_ kind: E2ETransportKind, _ prefix: String) throws {
        let pair = users(prefix, onWorkers: [1, 2])
        let user = pair[0], watcher = pair[1]
        let a1 = try connect(kind, "a1")
        assertOK(try a1.request("register", [("username", .string(user.name)), ("password", .string(user.password))]), "register")
        let token1 = try a1.login(user)
        let a2 = try connect(kind, "a2")
        assertOK(try a2.request("auth", [("token", .string(token1))]), "auth")
        let b = try loggedInClient(user, kind, label: "b")  // a second session of the same user
        let w = try registeredClient(watcher, kind, label: "w")

        assertOK(try a1.request("logout"), "logout")

        // The other connection of the ended session is told and loses its authentication.
        let ended = try a2.event("session:ended")
        XCTAssertNil(ended["status"], "events carry no status: \(ended)")
        XCTAssertEqual(ended["payload"]?["reason"]?.string, "logout", "PROTOCOL.md 3.2: \(ended)")
        assertError(try a2.request("get_user_chats"), "get_user_chats", "unauthenticated")
        // The connection that logged out got the response only, and is no longer authenticated.
        try assertNoEvent(a1, "session:ended", "the logging-out connection gets the response, not the event")
        assertError(try a1.request("get_user_chats"), "get_user_chats", "unauthenticated")
        // The token no longer authenticates anywhere.
        let a3 = try connect(kind, "a3")
        assertError(try a3.request("auth", [("token", .string(token1))]), "auth", "bad_credentials")
        assertError(try a3.request("logout"), "logout", "unauthenticated")

        // The user's other session goes on.
        try assertNoEvent(b, "session:ended", "another session of the same user is untouched")
        assertOK(try b.request("get_user_chats"), "get_user_chats")
        let chat = assertOK(try b.request("create_chat", [("user_id", .string(watcher.name))]), "create_chat")
        let chatID = chat["chat"]?["id"]?.string ?? ""
        let sent = try b.sendMessage(chatID, "still here")
        assertMessage(sent, chat: chatID, seq: 1, sender: user.name, content: "still here")
        let presence = assertOK(try w.request("get_presence", [("user_ids", .strings([user.name]))]), "get_presence")
        XCTAssertEqual(presence["presence"]?[user.name]?.string, "online", "\(presence)")

        // A logged-out connection can log in again.
        try a2.login(user)
        assertOK(try a2.request("get_user_chats"), "get_user_chats")
    }

    /// Requests on one connection are handled in the order sent: one pipelined right behind a
    /// `login` (or `auth`) runs on the connection that login authenticated, whatever the order
    /// in which the responses come back.
    private func pipelinedAfterLogin(_ kind: E2ETransportKind, _ prefix: String) throws {
        let user = users(prefix, onWorkers: [2])[0]
        let setup = try connect(kind, "setup")
        let token = try setup.registerAndLogin(user)
        let c = try connect(kind, "c")
        try c.sendPipelined([("login", [("username", .string(user.name)), ("password", .string(user.password))], "login-1"),
                             ("get_user_chats", [], "after-login")])
        assertOK(try c.response(to: "login-1"), "login")
        assertOK(try c.response(to: "after-login"), "get_user_chats")
        let d = try connect(kind, "d")
        try d.sendPipelined([("auth", [("token", .string(token))], "auth-1"),
                             ("get_presence", [("user_ids", .strings([user.name]))], "after-auth")])
        assertOK(try d.response(to: "auth-1"), "auth")
        assertOK(try d.response(to: "after-auth"), "get_presence")
    }

    private func searchUsersMergesShards(_ kind: E2ETransportKind, _ prefix: String) throws {
        let found = users(prefix, onWorkers: [0, 1, 2, 0, 1])
        let other = users(prefix + "zz", onWorkers: [2])[0]
        let c = try connect(kind, "c")
        for user in found + [other] {
            assertOK(try c.request("register", [("username", .string(user.name)), ("password", .string(user.password))]), "register")
        }
        assertError(try c.request("search_users", [("query", .string(prefix))]), "search_users", "unauthenticated")
        try c.login(found[0])

        // The "zz" user shares the prefix too, so the whole set is five plus one.
        let all = assertOK(try c.request("search_users", [("query", .string(prefix)), ("limit", 100)]), "search_users")
        let allUsers = all["users"]?.array ?? []
        XCTAssertEqual(Set(allUsers.compactMap { $0["id"]?.string }), Set((found + [other]).map { $0.name }), "\(all)")
        XCTAssertEqual(allUsers.count, found.count + 1, "no duplicates: \(all)")
        for user in allUsers { assertUser(user, user["id"]?.string ?? "?") }

        let exact = assertOK(try c.request("search_users", [("query", .string(found[1].name))]), "search_users")
        XCTAssertTrue(exact["users"]?.array?.contains { $0["id"]?.string == found[1].name } ?? false, "\(exact)")

        let limited = assertOK(try c.request("search_users", [("query", .string(prefix)), ("limit", 2)]), "search_users")
        let limitedIDs = limited["users"]?.array?.compactMap { $0["id"]?.string } ?? []
        XCTAssertEqual(limitedIDs.count, 2, "limit caps the merged answer: \(limited)")
        XCTAssertTrue(Set(limitedIDs).isSubset(of: Set((found + [other]).map { $0.name })), "\(limited)")

        // An empty query lists users in username order (PROTOCOL.md 3.2).
        let everyone = assertOK(try c.request("search_users", [("query", ""), ("limit", 100)]), "search_users")
        let everyID = everyone["users"]?.array?.compactMap { $0["id"]?.string } ?? []
        XCTAssertEqual(everyID, everyID.sorted(), "username order across shards")
        XCTAssertTrue(Set(found.map { $0.name }).isSubset(of: Set(everyID)) || everyID.count == 100, "\(everyone)")

        let none = assertOK(try c.request("search_users", [("query", .string(prefix + "qqq"))]), "search_users")
        XCTAssertEqual(none["users"], .array([]), "\(none)")
        assertError(try c.request("search_users", [("query", .string(prefix)), ("limit", 101)]), "search_users", "bad_request")
        assertError(try c.request("search_users", [("limit", 5)]), "search_users", "bad_request")
    }
}
