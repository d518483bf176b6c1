// RequestCorpusTests: what the gateway reads of a request (Request.routing) and what the worker reads (Request.parse), over one corpus, against the answers main gave before issue 9.
import Foundation
import XCTest
import TagarelaJSON
import TagarelaModel
import TagarelaLink
@testable import TagarelaGateway

/// Issue 9 gave every request rule one owner, the model: the gateway reads a request with
/// `Request.routing` (what every request shares, then the fields its route needs) and the worker
/// with `Request.parse` (everything), by the same field readers in the same order. These tests
/// hold the two entry points together over about 650 requests, and hold both to the answers
/// main gave before the change (`RequestCorpus.golden`, recorded from main at 611c406): no
/// answer changed on the wire but for the `message` text of what the gateway refused itself.
final class RequestCorpusTests: XCTestCase {
    /// One side's answer to a request: accepted, or refused with an envelope.
    enum Verdict: Equatable {
        case accepted(requestID: String?)
        case refused(type: String, requestID: String?, code: String)

        init(_ failure: RequestFailure) {
            self = .refused(type: failure.type, requestID: failure.requestID, code: failure.error.code.rawValue)
        }
    }

    /// What the gateway reads before anything reaches a worker, and the route it takes.
    func gateway(_ text: String) -> (Verdict, Route?, RequestFailure?) {
        switch Array(text.utf8).withUnsafeBytes({ RequestEnvelope.parse($0) }) {
        case .invalid(let failure):
            return (Verdict(failure), nil, failure)
        case .valid(let facts):
            let route = RequestRouter.route(facts.key, userID: "ana", workers: 3, mintGroupID: { "g:1" })
            return (.accepted(requestID: facts.requestID), route, nil)
        }
    }

    /// What the worker's engine reads.
    func worker(_ text: String) -> (Verdict, Request?, RequestFailure?) {
        do {
            let request = try Request.parse(Array(text.utf8))
            return (.accepted(requestID: request.requestID), request, nil)
        } catch {
            return (Verdict(error), nil, error)
        }
    }

    /// The worker's answer in the golden file's words: the typed request, or the response bytes.
    func workerAnswer(_ text: String) -> String {
        let (_, request, failure) = worker(text)
        // `attachment` (issue 12) postdates the golden file: a message without one reads as main's did.
        if let request = request { return "ok " + String(describing: request).replacingOccurrences(of: ", attachment: nil", with: "") }
        return "refused " + String(decoding: failure!.response(), as: UTF8.self)
    }

    /// The golden lines: index -> (main's gateway verdict, main's worker answer).
    func golden() throws -> [(gateway: String, worker: String)] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("RequestCorpus.golden")
        let text = try String(contentsOf: url, encoding: .utf8)
        var out: [(String, String)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            XCTAssertEqual(parts.count, 3, String(line))
            XCTAssertEqual(Int(parts[0]), out.count, "lines in corpus order")
            out.append((String(parts[1]), String(parts[2])))
        }
        return out
    }

    /// A valid body (without `type`) for each client type, as JSON members.
    static let validFields: [RequestType: [(String, String)]] = [
        .register: [("username", #""ana""#), ("password", #""12345678""#), ("display_name", #""Ana""#)],
        .login: [("username", #""ana""#), ("password", #""12345678""#)],
        .auth: [("token", #""ana.abc""#)],
        .logout: [],
        .logoutAll: [],
        .changePassword: [("old_password", #""12345678""#), ("new_password", #""87654321""#)],
        .searchUsers: [("query", #""an""#), ("limit", "5")],
        .createChat: [("user_id", #""bob""#)],
        .createGroup: [("group_name", #""lunch""#), ("member_ids", #"["bob","caio"]"#)],
        .addGroupMember: [("group_id", #""g:1""#), ("user_id", #""bob""#)],
        .removeGroupMember: [("group_id", #""g:1""#), ("user_id", #""bob""#)],
        .leaveGroup: [("group_id", #""g:1""#)],
        .getUserChats: [("limit", "20")],
        .message: [("chat_id", #""d:ana:bob""#), ("content", #""hi""#), ("client_msg_id", #""m1""#)],
        .getMessages: [("chat_id", #""d:ana:bob""#), ("after_seq", "3"), ("limit", "10"), ("mark_read", "false")],
        .markRead: [("chat_id", #""d:ana:bob""#), ("seq", "3")],
        .typing: [("chat_id", #""d:ana:bob""#)],
        .getPresence: [("user_ids", #"["ana","bob"]"#)],
        .getAttachment: [("chat_id", #""d:ana:bob""#), ("attachment_id", #""3""#)],
    ]

    /// Types added after the golden file was recorded (issue 12): in every corpus but the golden one.
    static let newerTypes: Set<RequestType> = [.getAttachment]

    /// Fields a request may leave out (PROTOCOL.md 2.1-2.3).
    static let optionalFields: Set<String> = ["display_name", "limit", "client_msg_id", "after_seq", "before_seq", "mark_read", "cursor"]

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Every client type with each `request_id` shape, and each field removed, nulled, mistyped,
    /// emptied and over-long.
    /// With `newer`, the types and fields added after the golden file too.
    static func corpus(newer: Bool = false) -> [String] {
        let requestIDs = [nil, "null", #""r1""#, "\"\(String(repeating: "x", count: 64))\"",
                          "\"\(String(repeating: "x", count: 65))\"", "\"\(String(repeating: "é", count: 64))\"",
                          "\"\(String(repeating: "é", count: 65))\"", "7", "true", "{}", "[]", #""""#]
        var out: [String] = []
        for type in RequestType.clientTypes where newer || !newerTypes.contains(type) {
            let fields = validFields[type]!
            let head = [("type", "\"\(type.rawValue)\"")]
            for rid in requestIDs {
                out.append(object(head + (rid.map { [("request_id", $0)] } ?? []) + fields))
            }
            for (i, field) in fields.enumerated() {
                var variants = ["null", "7", #""""#, "[]", #"[""]"#, #"[7]"#, "\"\(String(repeating: "a", count: 65))\"",
                                "\"\(String(repeating: "a", count: 101))\"", "0", "-1", "1000", "true"]
                variants.append("[" + Array(repeating: #""bob""#, count: 101).joined(separator: ",") + "]")
                for v in variants {
                    var changed = fields
                    changed[i] = (field.0, v)
                    out.append(object(head + [("request_id", #""v""#)] + changed))
                }
                var removed = fields
                removed.remove(at: i)
                out.append(object(head + [("request_id", #""d""#)] + removed))
            }
        }
        // The type itself: missing, mistyped, unknown, internal, long.
        for type in ["", "7", #""dance""#, #""users_exist""#, #""user_chats""#, "null",
                     "\"\(String(repeating: "t", count: 65))\"", "\"\(String(repeating: "é", count: 40))\""] {
            for rid in [#""t""#, "7"] {
                out.append(object((type.isEmpty ? [] : [("type", type)]) + [("request_id", rid)]))
            }
        }
        if newer {
            // A message's attachment, valid and broken one field at a time (the gateway reads
            // only its size; the worker reads it whole).
            let chat = ("chat_id", #""d:ana:bob""#)
            for attachment in [#"{"name":"a.png","mime":"image/png","data":"AQID"}"#, "7", "[]", "{}",
                               #"{"name":"a/b","mime":"image/png","data":"AQID"}"#, #"{"name":"a","mime":"png","data":"AQID"}"#,
                               #"{"name":"a","mime":"a/b","data":7}"#, #"{"name":"a","mime":"a/b","data":"AQI"}"#] {
                out.append(object([("type", #""message""#), ("request_id", #""a""#), chat, ("attachment", attachment)]))
                out.append(object([("type", #""message""#), ("request_id", #""b""#), chat, ("content", #""hi""#), ("attachment", attachment)]))
            }
        }
        return out
    }

    func testEveryRequestTypeAcceptsANullRequestIDAsAbsent() {
        for type in RequestType.clientTypes {
            let text = Self.object([("type", "\"\(type.rawValue)\""), ("request_id", "null")] + Self.validFields[type]!)
            XCTAssertEqual(gateway(text).0, .accepted(requestID: nil), "gateway: \(text)")
            XCTAssertEqual(worker(text).0, .accepted(requestID: nil), "worker: \(text)")
        }
    }

    func testEveryOptionalFieldAcceptsNullAsAbsent() {
        for type in RequestType.clientTypes {
            let fields = Self.validFields[type]!
            for (i, field) in fields.enumerated() where Self.optionalFields.contains(field.0) {
                var changed = fields
                changed[i] = (field.0, "null")
                let text = Self.object([("type", "\"\(type.rawValue)\"")] + changed)
                XCTAssertEqual(worker(text).0, .accepted(requestID: nil), "worker: \(text)")
                XCTAssertEqual(gateway(text).0, .accepted(requestID: nil), "gateway: \(text)")
            }
        }
    }

    /// The worker's answers are main's, byte for byte (its message texts included).
    func testTheWorkerAnswersAsMainDid() throws {
        let inputs = Self.corpus()
        let lines = try golden()
        XCTAssertEqual(lines.count, inputs.count)
        for (text, line) in zip(inputs, lines) {
            XCTAssertEqual(workerAnswer(text), line.worker, text)
        }
    }

    /// The gateway refuses what main's gateway refused, with the same `type`, `request_id` and
    /// `code`; of what main's gateway let through, it now refuses only what the worker refused
    /// (the client got that answer from the worker then, and gets the same bytes now).
    func testTheGatewayAnswersAsMainDid() throws {
        let inputs = Self.corpus()
        let lines = try golden()
        XCTAssertEqual(lines.count, inputs.count)
        var refusedEarlier = 0
        for (text, line) in zip(inputs, lines) {
            let (g, _, gFailure) = gateway(text)
            let (w, _, wFailure) = worker(text)
            if line.gateway.hasPrefix("refused") {
                XCTAssertEqual(String(describing: g), line.gateway, "main's gateway refused: \(text)")
            } else if case .refused = g {
                refusedEarlier += 1
                XCTAssertEqual(gFailure, wFailure, "refused as the worker refused it: \(text)")
            } else {
                XCTAssertEqual(String(describing: g), line.gateway, text)
            }
            _ = w
        }
        // Register and login with a username that is not one, a token over 128 characters, ids
        // that name nobody in create_chat/add_group_member/create_group, a bad group_name.
        XCTAssertGreaterThan(refusedEarlier, 0)
    }

    /// One model, two entry points: whatever `routing` refuses, `parse` refuses with the same
    /// answer (the routing fields are read first, by the same readers); whatever both accept,
    /// they agree on (the route's key is the request's own field).
    func testRoutingIsAPrefixOfTheWholeParse() {
        for text in Self.corpus(newer: true) {
            let (g, route, gFailure) = gateway(text)
            let (w, request, wFailure) = worker(text)
            switch (g, w) {
            case (.refused, _):
                XCTAssertEqual(gFailure, wFailure, "the same failure, message included: \(text)")
            case (.accepted(let gid), .refused(_, let wid, _)):
                XCTAssertEqual(gid, wid, "request_id: \(text)")
                XCTAssertNotNil(wFailure?.knownType, "a field the gateway does not read: \(text)")
                if case .presence? = route { XCTFail("get_presence is answered by the gateway alone: \(text) -> \(w)") }
            case (.accepted, .accepted):
                XCTAssertEqual(g, w, text)
                if let request = request, let route = route {
                    XCTAssertTrue(Self.agree(route, request), "\(text): \(route) for \(request.body)")
                }
            }
        }
    }

    /// The corpus breaks one field at a time; with two broken fields, the one the worker reads
    /// first must be the one the gateway answers about (it reads the routing fields first).
    func testRoutingIsAPrefixWhenTwoFieldsAreWrong() {
        var pairs = 0
        for type in RequestType.clientTypes {
            let fields = Self.validFields[type]!
            for i in fields.indices {
                for j in fields.indices where j > i {
                    for bad in ["7", #""""#, "[7]"] {
                        var changed = fields
                        changed[i].1 = bad
                        changed[j].1 = bad
                        let text = Self.object([("type", "\"\(type.rawValue)\"")] + changed)
                        let (g, _, gFailure) = gateway(text)
                        if case .refused = g { XCTAssertEqual(gFailure, worker(text).2, text) }
                        pairs += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(pairs, 50)
    }

    /// True when `route` (for user "ana" over 3 workers) is where `request` must go.
    static func agree(_ route: Route, _ request: Request) -> Bool {
        func shard(_ key: String) -> Int { Slots.worker(for: key, workers: 3) }
        switch (route, request.body) {
        case (.shard(let k), .register(let u, _, _)), (.shard(let k), .login(let u, _)): return k == shard(u)
        case (.shard(let k), .auth(let token)): return k == shard(FieldRules.tokenUsername(token) ?? "")
        case (.shard(let k), .logout), (.shard(let k), .logoutAll), (.shard(let k), .changePassword): return k == shard("ana")
        case (.shard(let k), .message(let c, _, _, _)), (.shard(let k), .getMessages(let c, _, _, _, _)),
             (.shard(let k), .markRead(let c, _)), (.shard(let k), .typing(let c)), (.shard(let k), .getAttachment(let c, _)),
             (.shard(let k), .removeGroupMember(let c, _)), (.shard(let k), .leaveGroup(let c)): return k == shard(c)
        case (.createChat(let target, _, let chatID, _), .createChat(let u)): return target == u && chatID == FieldRules.directChatID("ana", u)
        case (.addGroupMember(let u, _, let chatShard), .addGroupMember(let g, let user)): return u == user && chatShard == shard(g)
        case (.createGroup(_, _, let checks), .createGroup(_, let members)):
            return checks.flatMap { $0.userIDs }.sorted() == members.filter { $0 != "ana" }.sorted()
        case (.userChats(let l, let c), .getUserChats(let limit, let cursor)): return l == limit && c == cursor
        case (.searchUsers(let q, let l), .searchUsers(let query, let limit)): return q == query && l == limit
        case (.presence(let ids), .getPresence(let userIDs)): return ids == userIDs
        default: return false
        }
    }

    func testPresenceIDsAreDeduplicatedAfterCaseFolding() {
        let text = #"{"type":"get_presence","user_ids":["ana","ANA","Ana","bob","ANA"]}"#
        guard case .presence(let ids)? = gateway(text).1 else { return XCTFail("a presence route") }
        XCTAssertEqual(ids, ["ana", "bob"])
        XCTAssertEqual(worker(text).1?.body, .getPresence(userIDs: ["ana", "bob"]))
    }
}
