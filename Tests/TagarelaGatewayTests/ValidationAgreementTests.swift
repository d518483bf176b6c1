// ValidationAgreementTests: the gateway's request checks (RequestEnvelope, RequestRouter) and the worker's (TagarelaModel's RequestParser) run over the same inputs and must agree.
import XCTest
import TagarelaJSON
import TagarelaModel
@testable import TagarelaGateway

/// Both sides validate requests until issue 9 gives the rule one owner. Until then this test
/// holds them together: a request the gateway refuses, the worker refuses too (with the same
/// `bad_request`, `type` and `request_id`), so a client cannot tell which side answered; the
/// answers the gateway gives alone (`get_presence`) follow the worker's rules exactly; and
/// the `request_id` rule (PROTOCOL.md 3.4: `null` is absent) is one rule on both sides.
final class ValidationAgreementTests: XCTestCase {
    /// One side's answer to a request: accepted, or refused with an envelope.
    enum Verdict: Equatable {
        case accepted(requestID: String?)
        case refused(type: String, requestID: String?, code: String)
    }

    /// What the gateway does before anything reaches a worker.
    func gateway(_ text: String) -> (Verdict, Route?) {
        let envelope = Array(text.utf8).withUnsafeBytes { RequestEnvelope.parse($0) }
        switch envelope {
        case .invalid(let type, let requestID, _):
            return (.refused(type: type, requestID: requestID, code: "bad_request"), nil)
        case .valid(let type, let requestID, let json):
            let route = RequestRouter.route(type: type, json: json, userID: "ana", workers: 3, mintGroupID: { "g:1" })
            if case .reject = route {
                return (.refused(type: type.rawValue, requestID: requestID, code: "bad_request"), route)
            }
            return (.accepted(requestID: requestID), route)
        }
    }

    /// What the worker (the model's parser) does.
    func worker(_ text: String) -> (Verdict, Request?) {
        do {
            let request = try Request.parse(Array(text.utf8))
            return (.accepted(requestID: request.requestID), request)
        } catch {
            return (.refused(type: error.type, requestID: error.requestID, code: error.error.code.rawValue), nil)
        }
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
    ]

    /// Fields a request may leave out (PROTOCOL.md 2.1-2.3).
    static let optionalFields: Set<String> = ["display_name", "limit", "client_msg_id", "after_seq", "before_seq", "mark_read", "cursor"]

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Every client type with each `request_id` shape, and each field removed, nulled, mistyped,
    /// emptied and over-long.
    static func corpus() -> [String] {
        let requestIDs = [nil, "null", #""r1""#, "\"\(String(repeating: "x", count: 64))\"",
                          "\"\(String(repeating: "x", count: 65))\"", "\"\(String(repeating: "é", count: 64))\"",
                          "\"\(String(repeating: "é", count: 65))\"", "7", "true", "{}", "[]", #""""#]
        var out: [String] = []
        for type in RequestType.clientTypes {
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

    func testGatewayRefusesOnlyWhatTheWorkerRefusesAndAnswersTheSame() {
        let inputs = Self.corpus()
        XCTAssertGreaterThan(inputs.count, 300)
        for text in inputs {
            let (g, route) = gateway(text)
            let (w, request) = worker(text)
            switch (g, w) {
            case (.refused, .refused):
                XCTAssertEqual(g, w, "both refuse with the same envelope: \(text)")
            case (.refused, .accepted):
                XCTFail("the gateway refuses what the worker accepts: \(text) -> \(g)")
            case (.accepted(let gid), .refused(_, let wid, _)):
                // Fine: the worker checks the fields the gateway does not look at. The id must agree.
                XCTAssertEqual(gid, wid, "request_id: \(text)")
                if case .presence? = route { XCTFail("get_presence is answered by the gateway alone: \(text) -> \(w)") }
            case (.accepted, .accepted):
                XCTAssertEqual(g, w, text)
                if case .presence(let ids)? = route, case .getPresence(let modelIDs)? = request?.body {
                    XCTAssertEqual(ids, modelIDs, "presence ids: \(text)")
                }
            }
        }
    }

    func testPresenceIDsAreDeduplicatedAfterCaseFolding() {
        let text = #"{"type":"get_presence","user_ids":["ana","ANA","Ana","bob","ANA"]}"#
        guard case .presence(let ids)? = gateway(text).1 else { return XCTFail("a presence route") }
        XCTAssertEqual(ids, ["ana", "bob"])
        XCTAssertEqual(worker(text).1?.body, .getPresence(userIDs: ["ana", "bob"]))
    }
}
