// RequestAdmissionTests: the order in which the gateway answers what the model refuses: what every request shares at once, a field only after its type's authentication check.
import XCTest
import TagarelaJSON
import TagarelaModel
@testable import TagarelaGateway

final class RequestAdmissionTests: GatewayTestCase {
    /// A connection that has not logged in learns that first, whatever the fields of a request
    /// of a known type hold (as when the worker alone read the fields); what every request
    /// shares (JSON, `type`, `request_id`) is refused before that.
    func testFieldsAreAnsweredAfterAuthentication() throws {
        let h = try start(workers: 1)
        let c = try h.client()
        c.send("{\"type\":\"message\",\"request_id\":\"m\",\"chat_id\":7}\n")
        let message = json(c.readLine())
        XCTAssertEqual(message?["code"]?.string, "unauthenticated")
        XCTAssertEqual(message?["type"]?.string, "message")
        XCTAssertEqual(message?["request_id"]?.string, "m")
        c.send("{\"type\":\"message\",\"request_id\":7,\"chat_id\":7}\n")
        XCTAssertEqual(json(c.readLine())?["code"]?.string, "bad_request")
        c.send("{\"type\":\"create_group\",\"request_id\":\"g\",\"member_ids\":[\"b@d\"]}\n")
        XCTAssertEqual(json(c.readLine())?["code"]?.string, "unauthenticated")
        XCTAssertTrue(h.workers[0].requests.isEmpty, "nothing reached the worker")
    }

    /// Once logged in, a field the route reads is refused by the gateway with the model's own
    /// answer (the bytes the worker would give) and nothing reaches a worker; the fields the route
    /// does not read (the password of a login) are the worker's to check.
    func testRoutingFieldsAreRefusedWithTheModelsAnswer() throws {
        let h = try start(workers: 1)
        let c = try h.client()
        c.send("{\"type\":\"login\",\"request_id\":\"l\",\"username\":\"alice\",\"password\":\"p\"}\n")
        XCTAssertEqual(json(c.readLine())?["status"]?.string, "ok", "a short password is the worker's to refuse")
        let sent = h.workers[0].requests.count
        for text in [#"{"type":"create_chat","request_id":"n","user_id":"b@d"}"#,
                     #"{"type":"typing","request_id":"t","chat_id":""}"#,
                     #"{"type":"get_user_chats","request_id":"u","cursor":"17"}"#] {
            c.send(text + "\n")
            var expected: RequestFailure? = nil
            do { _ = try Request.parse(Array(text.utf8)) } catch { expected = error }
            XCTAssertEqual(c.readLine().map { Array($0.utf8) }, expected?.response(), text)
        }
        XCTAssertEqual(h.workers[0].requests.count, sent, "nothing reached the worker")
    }
}
