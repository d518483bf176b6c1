// AttachmentGatewayTests: the per-user attachment bytes quota across connections, and the GET /attachments route's parsing and answers.
import Foundation
import XCTest
import TagarelaJSON
import TagarelaModel
import TagarelaWire
@testable import TagarelaGateway

final class AttachmentGatewayTests: GatewayTestCase {
    func testUserQuotaChargesByCost() {
        let q = UserQuota(max: 1000, windowMs: 1000)
        XCTAssertNil(q.take("ana", cost: 600, nowMs: 0))
        XCTAssertEqual(q.take("ana", cost: 600, nowMs: 0), 200, "200 bytes missing at 1 byte/ms")
        XCTAssertNil(q.take("ana", cost: 400, nowMs: 0))
        XCTAssertNil(q.take("ana", cost: 600, nowMs: 600))
        XCTAssertNil(q.take("bia", cost: 5000, nowMs: 0), "a cost past the size is charged as the size")
        XCTAssertNotNil(q.take("bia", cost: 1, nowMs: 0))
    }

    private func upload(_ id: String, bytes: Int, chat: String = "c1") -> String {
        let data = String(repeating: "A", count: AttachmentRules.base64Count(ofBytes: bytes))
        return "{\"type\":\"message\",\"request_id\":\"\(id)\",\"chat_id\":\"\(chat)\",\"attachment\":"
            + "{\"name\":\"a\",\"mime\":\"a/b\",\"data\":\"\(data)\"}}\n"
    }

    /// The answer to request `id`, past any events (the fake worker sends `message:new`).
    private func answer(_ c: TestClient, _ id: String) -> JSON? {
        for _ in 0..<10 {
            guard let j = json(c.readLine()) else { return nil }
            if j["request_id"]?.string == id { return j }
        }
        return nil
    }

    /// Past the quota a message with an attachment is answered `limit_reached` on every
    /// connection of the user; text messages and other users go on.
    func testAttachmentBytesAreLimitedPerUserAcrossConnections() throws {
        let h = try start(workers: 2, loops: 2, configure: { c in
            c.limits.attachmentBytesPerUserMax = 10_000
            c.limits.attachmentBytesWindowMs = 3_600_000
        })
        let first = try loggedIn(h, "alice")
        let second = try loggedIn(h, "alice", session: "other")
        first.send(upload("a1", bytes: 6_000))
        XCTAssertEqual(answer(first, "a1")?["status"]?.string, "ok")
        second.send(upload("a2", bytes: 6_000))
        let refused = answer(second, "a2")
        XCTAssertEqual(refused?["code"]?.string, "limit_reached")
        XCTAssertEqual(refused?["limit"]?.string, "attachment_bytes_per_user")
        XCTAssertEqual(refused?["request_id"]?.string, "a2")
        XCTAssertGreaterThan(refused?["retry_after_ms"]?.int ?? 0, 500_000)
        second.send("{\"type\":\"message\",\"request_id\":\"t\",\"chat_id\":\"c1\",\"content\":\"text\"}\n")
        XCTAssertEqual(answer(second, "t")?["status"]?.string, "ok", "text is not charged")
        second.send(upload("a3", bytes: 3_999))
        XCTAssertEqual(answer(second, "a3")?["status"]?.string, "ok", "what is left can be used")
        let bob = try loggedIn(h, "bob")
        bob.send(upload("b", bytes: 6_000))
        XCTAssertEqual(answer(bob, "b")?["status"]?.string, "ok", "another user is not affected")
    }

    private func head(_ target: String, method: String = "GET", auth: String? = nil) -> HTTPRequestHead {
        var headers: [(name: String, value: String)] = [("Host", "x")]
        if let auth { headers.append(("Authorization", auth)) }
        return HTTPRequestHead(method: method, target: target, version: .http1_1, headers: headers)
    }

    func testTheRouteReadsPathAndBearerToken() throws {
        let route = try XCTUnwrap(AttachmentRoute(head("/attachments/d%3Aana%3Abia/12?x=1", auth: "Bearer  ana.tok ")))
        XCTAssertEqual(route.chatID, "d:ana:bia")
        XCTAssertEqual(route.attachmentID, "12")
        XCTAssertEqual(route.token, "ana.tok")
        XCTAssertNil(AttachmentRoute(head("/attachments/c/1", auth: "Basic abc"))?.token)
        for bad in ["/attachments/c", "/attachments/c/1/2", "/attachments//1", "/attachments/c/", "/attachments/%zz/1",
                    "/attachments/c%00/1"] {
            XCTAssertNil(AttachmentRoute(head(bad)), bad)
            guard case .respond(let bytes) = HTTPEndpoint.action(for: head(bad), echoPath: nil, allowedOrigins: nil) else {
                return XCTFail("\(bad) must be answered at once")
            }
            XCTAssertEqual(bytes, AttachmentRoute.notFound(headOnly: false), "one 404 for every refusal: \(bad)")
        }
        guard case .attachment = HTTPEndpoint.action(for: head("/attachments/c/1", auth: "Bearer t"), echoPath: nil,
                                                     allowedOrigins: nil) else { return XCTFail("routed") }
        let requests = route.requests.map { try? JSON.parse($0) }
        XCTAssertEqual(requests[0]?["type"], "auth")
        XCTAssertEqual(requests[0]?["token"], "ana.tok")
        XCTAssertEqual(requests[1]?["type"], "get_attachment")
        XCTAssertEqual(requests[1]?["chat_id"], "d:ana:bia")
        XCTAssertEqual(requests[1]?["attachment_id"], "12")
    }

    func testAnswersFromReplies() throws {
        let route = try XCTUnwrap(AttachmentRoute(head("/attachments/c/1", auth: "Bearer t")))
        XCTAssertNil(route.answer(forReply: Array(#"{"type":"auth","status":"ok"}"#.utf8)), "the auth answer is not the last")
        XCTAssertNil(route.answer(forReply: Array(#"{"type":"message:new","payload":{}}"#.utf8)))
        for code in ["not_found", "unauthenticated", "forbidden", "bad_request"] {
            let reply = #"{"type":"get_attachment","status":"error","code":"\#(code)","message":"x"}"#
            XCTAssertEqual(route.answer(forReply: Array(reply.utf8)), AttachmentRoute.notFound(headOnly: false), code)
        }
        let busy = route.answer(forReply: Array(#"{"type":"get_attachment","status":"error","code":"unavailable","message":"x"}"#.utf8))
        XCTAssertTrue(String(decoding: busy ?? [], as: UTF8.self).hasPrefix("HTTP/1.1 503"))
        let authDown = route.answer(forReply: Array(#"{"type":"auth","status":"error","code":"unavailable","message":"x"}"#.utf8))
        XCTAssertTrue(String(decoding: authDown ?? [], as: UTF8.self).hasPrefix("HTTP/1.1 503"), "the token's shard is down")
        XCTAssertNil(route.answer(forReply: Array(#"{"type":"auth","status":"error","code":"bad_credentials","message":"x"}"#.utf8)),
                     "a bad token waits for get_attachment's unauthenticated: the one 404")

        func ok(_ mime: String, _ name: String) -> String {
            let reply = #"{"type":"get_attachment","status":"ok","attachment":{"id":"1","name":"\#(name)","mime":"\#(mime)","size":3,"sha256":"x"},"data":"AQID"}"#
            return String(decoding: route.answer(forReply: Array(reply.utf8)) ?? [], as: UTF8.self)
        }
        let png = ok("image/png", "a.png")
        XCTAssertTrue(png.hasPrefix("HTTP/1.1 200"))
        XCTAssertTrue(png.contains("Content-Type: image/png\r\n"))
        XCTAssertTrue(png.contains("X-Content-Type-Options: nosniff\r\n"))
        XCTAssertTrue(png.contains("Content-Disposition: inline; filename=\"a.png\"; filename*=UTF-8''a.png\r\n"))
        XCTAssertTrue(png.contains("Cache-Control: private"))
        XCTAssertTrue(png.hasSuffix("\r\n\r\n\u{1}\u{2}\u{3}"))
        XCTAssertTrue(ok("image/svg+xml", "a.svg").contains("Content-Disposition: attachment;"), "SVG can run script: a download")
        XCTAssertTrue(ok("text/html", "a.html").contains("Content-Disposition: attachment;"))
        let odd = ok("text/plain", #"a\"b é;.txt"#)
        XCTAssertTrue(odd.contains(#"filename="a_b _;.txt"; filename*=UTF-8''a%22b%20%C3%A9%3B.txt"#), odd)
    }
}
