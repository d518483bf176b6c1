// ScaleTests: `deploy/tagarela scale` 2 -> 4 -> 1 with data: every user logs in, every session, chat, message and read marker is still there with the same seq.
import Foundation
import TestSupport
import XCTest

final class ScaleTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }

    /// What a user sees, recorded before scaling and compared after.
    private struct UserView: Equatable {
        var chatIDs: [String]
        var unread: [Int?]
        var lastMessageIDs: [E2EJSON?]
    }

    func testScaleTwoToFourToOneKeepsEveryUserAndMessage() throws {
        // Users spread over the slots of 4 workers (so also of 2 and 1).
        let names = E2ESlots.usernames(prefix: "scale", onWorkers: [0, 1, 2, 3, 0, 1, 2, 3], workers: 4)
        let people = names.map { E2EUser($0) }
        var clients: [E2EChatClient] = []
        var tokens: [String] = []
        for user in people {
            let client = try connect(.ndjson, user.name)
            tokens.append(try client.registerAndLogin(user))
            clients.append(client)
        }

        // Direct chats between neighbours and three groups.
        var chats: [(id: String, members: [Int])] = []
        for i in stride(from: 0, to: people.count, by: 2) {
            let reply = try clients[i].ok("create_chat", [("user_id", .string(people[i + 1].name))])
            chats.append((reply["chat"]?["id"]?.string ?? "", [i, i + 1]))
        }
        for (n, members) in [[0, 3, 5], [1, 2, 6, 7], [4, 5, 6]].enumerated() {
            let reply = try clients[members[0]].ok("create_group", [("group_name", .string("grupo \(n)")),
                                                                    ("member_ids", .strings(members.dropFirst().map { people[$0].name }))])
            chats.append((reply["chat"]?["id"]?.string ?? "", members))
        }
        // Six messages per chat from its members in turn, then some read markers.
        // Chats' last activities are kept in distinct milliseconds so "newest first" has one answer.
        for chat in chats {
            var last = 0
            for k in 0..<6 {
                let sender = chat.members[k % chat.members.count]
                let sent = try clients[sender].sendMessage(chat.id, "msg \(k) in \(chat.id)", clientMsgID: "c-\(k)")
                last = sent["timestamp"]?.int ?? 0
            }
            waitForWallClock(after: last)
            _ = try clients[chat.members[1]].ok("mark_read", [("chat_id", .string(chat.id)), ("seq", 3)])
        }
        for client in clients { client.close() }

        let history = try histories(chats, people)
        let views = try userViews(people)
        XCTAssertEqual(history.values.map { $0.count }, Array(repeating: 6, count: chats.count))

        for target in [4, 1] {
            try instance.scale(to: target)
            XCTAssertEqual(instance.workers, target)
            for k in 0..<4 {
                let pid = instance.pid("worker-\(k)")
                XCTAssertEqual(pid.map(E2EProcess.isAlive) ?? false, k < target, "worker-\(k) with \(target) workers")
            }
            // Every old token still authenticates; every password still logs in.
            for (user, token) in zip(people, tokens) {
                let c = try connect(.webSocket, "auth-\(user.name)-\(target)")
                let auth = try c.ok("auth", [("token", .string(token))])
                XCTAssertEqual(auth["user"]?["id"]?.string, user.name)
                c.close()
            }
            XCTAssertEqual(try userViews(people), views, "every user's chat list after scaling to \(target)")
            let after = try histories(chats, people)
            for chat in chats {
                XCTAssertEqual(after[chat.id], history[chat.id], "messages of \(chat.id) after scaling to \(target)")
            }
        }

        // Writing goes on where it stopped; idempotency keys survived the re-partitioning.
        for chat in chats {
            let c = try loggedInClient(people[chat.members[0]], .ndjson, label: "final-\(chat.id)")
            let replay = try c.sendMessage(chat.id, "msg 0 in \(chat.id)", clientMsgID: "c-0")
            XCTAssertEqual(replay["id"], history[chat.id]?.first?["id"], "retry of c-0 in \(chat.id)")
            let next = try c.sendMessage(chat.id, "after scaling", clientMsgID: "after")
            XCTAssertEqual(next["seq"]?.int, 7, "seq continues in \(chat.id)")
            c.close()
        }
    }

    /// Each chat's full history as a member reads it without moving markers.
    private func histories(_ chats: [(id: String, members: [Int])], _ people: [E2EUser]) throws -> [String: [E2EJSON]] {
        var result: [String: [E2EJSON]] = [:]
        for chat in chats {
            let reader = try loggedInClient(people[chat.members.last!], .ndjson, label: "read-\(chat.id)")
            let page = try reader.ok("get_messages", [("chat_id", .string(chat.id)), ("limit", 200), ("mark_read", false)])
            let messages = page["messages"]?.array ?? []
            XCTAssertEqual(messages.compactMap { $0["seq"]?.int }, Array(1...6), "\(chat.id): \(page)")
            result[chat.id] = messages
            reader.close()
        }
        return result
    }

    /// Each user's `get_user_chats`: order, unread counts and last messages.
    private func userViews(_ people: [E2EUser]) throws -> [UserView] {
        try people.map { user in
            let c = try loggedInClient(user, .webSocket, label: "view-\(user.name)")
            defer { c.close() }
            let chats = try c.ok("get_user_chats")["chats"]?.array ?? []
            return UserView(chatIDs: chats.compactMap { $0["id"]?.string }, unread: chats.map { $0["unread_count"]?.int },
                            lastMessageIDs: chats.map { $0["last_message"]?["id"] })
        }
    }
}
