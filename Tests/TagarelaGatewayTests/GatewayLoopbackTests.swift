// GatewayLoopbackTests: a real Gateway on 127.0.0.1 with fake workers: transports, routing, fan-out, sessions, failures.
import XCTest
import TagarelaJSON
import TagarelaLink
@testable import TagarelaGateway

final class GatewayLoopbackTests: GatewayTestCase {
    // MARK: - Transports

    func testEchoRouteEchoesTextAndBinary() throws {
        let h = try start(workers: 0, configure: { $0.echoPath = "/echo" })
        let c = try h.client()
        XCTAssertTrue(c.upgrade(path: "/echo")?.hasPrefix("HTTP/1.1 101") ?? false)
        c.sendText("héllo")
        let text = c.readFrame()
        XCTAssertEqual(text?.opcode, 0x1)
        XCTAssertEqual(text.map { String(decoding: $0.payload, as: UTF8.self) }, "héllo")
        c.sendFrame(.binary, [0, 1, 2, 255])
        let binary = c.readFrame()
        XCTAssertEqual(binary?.opcode, 0x2)
        XCTAssertEqual(binary?.payload, [0, 1, 2, 255])
        c.sendFrame(.ping, [7])
        XCTAssertEqual(c.readFrame()?.opcode, 0xA)
    }

    func testWithoutWorkersChatRequestsAreUnavailable() throws {
        let h = try start(workers: 0)
        let c = try h.client()
        c.send("{\"type\":\"login\",\"request_id\":\"r1\",\"username\":\"alice\",\"password\":\"x\"}\n")
        let reply = json(c.readLine())
        XCTAssertEqual(reply?["type"]?.string, "login")
        XCTAssertEqual(reply?["request_id"]?.string, "r1")
        XCTAssertEqual(reply?["code"]?.string, "unavailable")
    }

    func testNDJSONRequestsValidationAndForwarding() throws {
        let h = try start(workers: 1)
        let c = try h.client()
        c.send("not json\r\n")
        XCTAssertEqual(json(c.readLine())?["code"]?.string, "bad_request")
        c.send("{\"type\":\"nope\",\"request_id\":\"u\"}\n")
        let unknown = json(c.readLine())
        XCTAssertEqual(unknown?["code"]?.string, "bad_request")
        XCTAssertEqual(unknown?["request_id"]?.string, "u")
        c.send("{\"type\":\"message\",\"request_id\":\"m0\",\"chat_id\":\"c\",\"content\":\"x\"}\n")
        XCTAssertEqual(json(c.readLine())?["code"]?.string, "unauthenticated")
        let login = "{\"type\":\"login\",\"request_id\":\"l1\",\"username\":\"Alice\",\"password\":\"p1\"}"
        c.send(login + "\n")
        let ok = json(c.readLine())
        XCTAssertEqual(ok?["status"]?.string, "ok")
        XCTAssertEqual(ok?["request_id"]?.string, "l1")
        // The worker got the client's bytes verbatim, before auth.
        let first = h.workers[0].requests.first
        XCTAssertEqual(first.map { String(decoding: $0.json, as: UTF8.self) }, login)
        XCTAssertEqual(first?.userID, "")
        XCTAssertEqual(first?.flags, 0)
        c.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(c.readLine())?["status"]?.string, "ok")
        let typing = h.workers[0].requests.last
        XCTAssertEqual(typing?.userID, "alice")
        XCTAssertEqual(typing?.sessionID, "p1")
        XCTAssertNotEqual(typing?.connectionID, 0)
    }

    func testFanOutReachesEveryConnectionButTheSender() throws {
        let h = try start(workers: 1, loops: 2)
        let a = try h.client()
        XCTAssertNotNil(a.upgrade())
        let b = try h.client()
        let c = try h.client()
        XCTAssertNotNil(c.upgrade())
        a.sendText("{\"type\":\"login\",\"request_id\":\"1\",\"username\":\"alice\",\"password\":\"s1\"}")
        XCTAssertEqual(json(a.readText())?["status"]?.string, "ok")
        b.send("{\"type\":\"login\",\"request_id\":\"2\",\"username\":\"alice\",\"password\":\"s2\"}\n")
        XCTAssertEqual(json(b.readLine())?["status"]?.string, "ok")
        c.sendText("{\"type\":\"login\",\"request_id\":\"3\",\"username\":\"bob\",\"password\":\"s3\"}")
        XCTAssertEqual(json(c.readText())?["status"]?.string, "ok")

        a.sendText("{\"type\":\"message\",\"request_id\":\"m\",\"chat_id\":\"d:alice:bob\",\"content\":\"hi\"}")
        let response = json(a.readText())
        XCTAssertEqual(response?["type"]?.string, "message")
        XCTAssertEqual(response?["request_id"]?.string, "m")
        let onB = json(b.readLine())
        XCTAssertEqual(onB?["type"]?.string, "message:new")
        XCTAssertEqual(onB?["payload"]?["content"]?.string, "hi")
        let onC = json(c.readText())
        XCTAssertEqual(onC?["type"]?.string, "message:new")
        // The sender got the response, not the event: its next frame answers its next request.
        a.sendText("{\"type\":\"get_presence\",\"request_id\":\"p\",\"user_ids\":[\"alice\",\"bob\",\"carol\"]}")
        let presence = json(a.readText())
        XCTAssertEqual(presence?["request_id"]?.string, "p")
        XCTAssertEqual(presence?["presence"]?["alice"]?.string, "online")
        XCTAssertEqual(presence?["presence"]?["bob"]?.string, "online")
        XCTAssertEqual(presence?["presence"]?["carol"]?.string, "offline")
    }

    func testLogoutEndsTheSessionOnOtherConnections() throws {
        let h = try start(workers: 1, loops: 2)
        let a = try h.client(), b = try h.client(), c = try h.client()
        for (i, (client, session)) in [(a, "same"), (b, "same"), (c, "other")].enumerated() {
            client.send("{\"type\":\"login\",\"request_id\":\"\(i)\",\"username\":\"alice\",\"password\":\"\(session)\"}\n")
            XCTAssertEqual(json(client.readLine())?["status"]?.string, "ok")
        }
        a.send("{\"type\":\"logout\",\"request_id\":\"out\"}\n")
        XCTAssertEqual(json(a.readLine())?["request_id"]?.string, "out")
        XCTAssertEqual(json(b.readLine())?["type"]?.string, "session:ended")
        b.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(b.readLine())?["code"]?.string, "unauthenticated")
        a.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(a.readLine())?["code"]?.string, "unauthenticated")
        c.send("{\"type\":\"get_presence\",\"request_id\":\"p\",\"user_ids\":[\"alice\"]}\n")
        XCTAssertEqual(json(c.readLine())?["presence"]?["alice"]?.string, "online")
        XCTAssertEqual(h.gateway.presence.connectionCount("alice"), 1)
    }

    func testDroppedWorkerLinkAnswersUnavailableThenRecovers() throws {
        let h = try start(workers: 1)
        let c = try h.client()
        c.send("{\"type\":\"login\",\"request_id\":\"l\",\"username\":\"alice\",\"password\":\"p\"}\n")
        XCTAssertEqual(json(c.readLine())?["status"]?.string, "ok")
        c.send("{\"type\":\"get_messages\",\"request_id\":\"held\",\"chat_id\":\"c\"}\n")
        let deadline = Date().addingTimeInterval(3)
        while h.workers[0].requests.count < 2 && Date() < deadline { usleep(5_000) }
        h.workers[0].dropLinks()
        let reply = json(c.readLine())
        XCTAssertEqual(reply?["request_id"]?.string, "held")
        XCTAssertEqual(reply?["code"]?.string, "unavailable")
        h.waitForLinks(loops: 1)
        c.send("{\"type\":\"typing\",\"request_id\":\"again\",\"chat_id\":\"c\"}\n")
        XCTAssertEqual(json(c.readLine())?["status"]?.string, "ok")
    }

    /// Waits (bounded) until `condition` holds.
    private func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    /// Subscription routing, gateway side: only the loop holding a user's connection subscribes
    /// to it, on every worker; the last connection's close unsubscribes; a reconnected link gets
    /// the loop's whole set again before anything else.
    func testOnlyTheLoopHoldingAUserSubscribesToIt() throws {
        let h = try start(workers: 2, loops: 2)
        let c = try h.client()
        c.send("{\"type\":\"login\",\"request_id\":\"l\",\"username\":\"alice\",\"password\":\"p\"}\n")
        XCTAssertEqual(json(c.readLine())?["status"]?.string, "ok")
        // The subscribe is flushed before the login answer is written, so it is already there
        // or on its way; one link of each worker (the loop of `c`), not both.
        for w in h.workers {
            XCTAssertTrue(eventually { w.linksSubscribed(to: "alice") == 1 }, "one loop subscribes")
            XCTAssertEqual(w.linksSubscribed(to: "bob"), 0)
        }
        let holders = (0..<2).filter { i in onLoop(h, i) { $0.byUser["alice"] != nil } }
        XCTAssertEqual(holders.count, 1, "alice is bound on exactly one loop")
        XCTAssertEqual(onLoop(h, holders[0]) { $0.snapshotCounters().linkSubscribes }, 2, "one subscribe per worker link")
        XCTAssertEqual(onLoop(h, 1 - holders[0]) { $0.snapshotCounters().linkSubscribes }, 0, "the other loop sends none")

        // A dropped link comes back and learns the set again.
        h.workers[1].dropLinks()
        XCTAssertEqual(h.workers[1].linksSubscribed(to: "alice"), 0)
        h.waitForLinks(loops: 2)
        XCTAssertTrue(eventually { h.workers[1].linksSubscribed(to: "alice") == 1 }, "resubscribed on reconnect")

        // The last connection goes: every worker forgets the loop's interest.
        shutdown(c.fd, Int32(SHUT_RDWR))
        for w in h.workers {
            XCTAssertTrue(eventually { w.linksSubscribed(to: "alice") == 0 }, "unsubscribed on close")
        }
    }

    func testCreateChatChecksTheUserFirst() throws {
        let h = try start(workers: 2)
        let c = try h.client()
        c.send("{\"type\":\"login\",\"request_id\":\"l\",\"username\":\"alice\",\"password\":\"p\"}\n")
        XCTAssertEqual(json(c.readLine())?["status"]?.string, "ok")
        c.send("{\"type\":\"create_chat\",\"request_id\":\"g\",\"user_id\":\"ghost\"}\n")
        XCTAssertEqual(json(c.readLine())?["code"]?.string, "not_found")
        c.send("{\"type\":\"create_chat\",\"request_id\":\"b\",\"user_id\":\"bob\"}\n")
        let ok = json(c.readLine())
        XCTAssertEqual(ok?["status"]?.string, "ok")
        XCTAssertEqual(ok?["arg"]?.string, DirectChatID.make("alice", "bob"))
        let chatShard = Slots.worker(for: DirectChatID.make("alice", "bob"), workers: 2)
        XCTAssertTrue(h.workers[chatShard].requests.contains { $0.arg == DirectChatID.make("alice", "bob") })
        let userShard = Slots.worker(for: "bob", workers: 2)
        XCTAssertTrue(h.workers[userShard].requests.contains { $0.isInternal && String(decoding: $0.json, as: UTF8.self).contains("users_exist") })
    }

    func testGetUserChatsScattersAndMerges() throws {
        let h = try start(workers: 2, respond: { r in
            let text = String(decoding: r.json, as: UTF8.self)
            if text.contains("user_chats") {
                // Each shard answers one chat; the one with the later activity must come first.
                let which = text.contains("alice") ? r.requestID : 0
                return LinkReply(requestID: r.requestID, json: Array(("{\"status\":\"ok\",\"chats\":[{\"id\":\"c\(which)\","
                    + "\"created_at\":\(which),\"last_message\":null}]}").utf8))
            }
            return GatewayHarness.standardReply(r)
        })
        let c = try h.client()
        c.send("{\"type\":\"login\",\"request_id\":\"l\",\"username\":\"alice\",\"password\":\"p\"}\n")
        XCTAssertEqual(json(c.readLine())?["status"]?.string, "ok")
        c.send("{\"type\":\"get_user_chats\",\"request_id\":\"chats\"}\n")
        let reply = json(c.readLine())
        XCTAssertEqual(reply?["request_id"]?.string, "chats")
        let ids = reply?["chats"]?.array?.compactMap { $0["id"]?.string } ?? []
        XCTAssertEqual(ids.count, 2)
        let stamps = reply?["chats"]?.array?.compactMap { $0["created_at"]?.int } ?? []
        XCTAssertEqual(stamps, stamps.sorted(by: >))
    }

    // MARK: - HTTP

    func httpStatus(_ h: GatewayHarness, _ request: String) throws -> (status: Int, text: String) {
        let c = try h.client()
        c.send(request)
        let text = String(decoding: c.readToEOF(), as: UTF8.self)
        return (Int(text.dropFirst(9).prefix(3)) ?? 0, text)
    }

    func testHealthzFollowsTheWorkerLinks() throws {
        let h = try start(workers: 1)
        let up = try httpStatus(h, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(up.status, 200)
        XCTAssertTrue(up.text.contains("\"status\":\"ok\""))
        h.workers[0].stop()
        let down = try httpStatus(h, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(down.status, 503)
    }

    func testHealthzWithAbsentWorkerIs503() throws {
        let h = try start(workers: 1, startWorkers: false)
        XCTAssertEqual(try httpStatus(h, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status, 503)
    }

    func testMetricsAndPage() throws {
        let h = try start(workers: 1, loops: 2)
        let c = try h.client()
        c.send("{\"type\":\"login\",\"request_id\":\"l\",\"username\":\"alice\",\"password\":\"p\"}\n")
        XCTAssertNotNil(c.readLine())
        let metrics = try httpStatus(h, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.text.contains("tagarela_connections{transport=\"ndjson\"} 1\n"))
        XCTAssertTrue(metrics.text.contains("tagarela_requests_total{type=\"login\"} 1\n"))
        XCTAssertTrue(metrics.text.contains("tagarela_worker_links_up{worker=\"0\"} 2\n"))
        XCTAssertTrue(metrics.text.contains("tagarela_online_users 1\n"))
        let page = try httpStatus(h, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("<!doctype html>"))
    }

    func testHTTPErrors() throws {
        let h = try start(workers: 0, configure: { $0.allowedOrigins = ["https://ok.example"] })
        XCTAssertEqual(try httpStatus(h, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").status, 404)
        XCTAssertEqual(try httpStatus(h, "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n").status, 405)
        XCTAssertEqual(try httpStatus(h, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n").status, 400)
        XCTAssertEqual(try httpStatus(h, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n").status, 426)
        XCTAssertEqual(try httpStatus(h, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                                      + "Origin: https://evil.example\r\n\r\n").status, 403)
        let huge = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 9_000) + "\r\n\r\n"
        XCTAssertEqual(try httpStatus(h, huge).status, 431)
        // Split delivery of the method is still detected as HTTP.
        let c = try h.client()
        c.send("G")
        usleep(20_000)
        c.send("ET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(String(decoding: c.readToEOF(), as: UTF8.self).hasPrefix("HTTP/1.1 404"))
    }

    // MARK: - Limits

    func testSilentConnectionsAreClosedAfterTheHandshakeTimeout() throws {
        let h = try start(workers: 0, configure: { $0.limits.handshakeTimeoutMs = 150 })
        let silent = try h.client()
        let partial = try h.client()
        partial.send("GET / HTTP/1.1\r\n")
        let started = Date()
        XCTAssertTrue(silent.waitForClose())
        XCTAssertTrue(partial.waitForClose())
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5)
    }

    func testRateLimitAnswersThenClosesWith1008() throws {
        let h = try start(workers: 0, configure: { c in
            c.limits.requestsPerSecond = 1
            c.limits.requestBurst = 2
            c.limits.rateLimitedErrorsMax = 2
        })
        let c = try h.client()
        XCTAssertNotNil(c.upgrade())
        for i in 0..<5 { c.sendText("{\"type\":\"typing\",\"request_id\":\"\(i)\",\"chat_id\":\"c\"}") }
        XCTAssertEqual(json(c.readText())?["code"]?.string, "unauthenticated")
        XCTAssertEqual(json(c.readText())?["code"]?.string, "unauthenticated")
        let limited = json(c.readText())
        XCTAssertEqual(limited?["code"]?.string, "rate_limited")
        XCTAssertEqual(limited?["request_id"]?.string, "2")
        XCTAssertGreaterThan(limited?["retry_after_ms"]?.int ?? 0, 0)
        XCTAssertEqual(json(c.readText())?["code"]?.string, "rate_limited")
        XCTAssertEqual(json(c.readText())?["code"]?.string, "rate_limited")
        let close = c.readFrame()
        XCTAssertEqual(close?.opcode, 0x8)
        XCTAssertEqual(close.map { UInt16($0.payload[0]) << 8 | UInt16($0.payload[1]) }, 1008)
    }

    func testIdleWebSocketIsPingedThenClosedWithoutPong() throws {
        let h = try start(workers: 0, configure: { c in
            c.limits.idlePingIntervalMs = 60
            c.limits.pongTimeoutMs = 60
        })
        let answering = try h.client()
        XCTAssertNotNil(answering.upgrade())
        let silent = try h.client()
        XCTAssertNotNil(silent.upgrade())
        XCTAssertEqual(silent.readFrame()?.opcode, 0x9)
        XCTAssertEqual(answering.readFrame()?.opcode, 0x9)
        answering.sendFrame(.pong, [])
        // The silent one is dropped after the pong timeout; the one that answered stays.
        XCTAssertTrue(silent.waitForClose())
        XCTAssertEqual(answering.readFrame()?.opcode, 0x9)
        answering.sendFrame(.pong, [])
        answering.sendText("{\"type\":\"typing\",\"request_id\":\"x\",\"chat_id\":\"c\"}")
        var reply: JSON? = nil
        while let frame = answering.readFrame() {
            if frame.opcode == 0x9 { answering.sendFrame(.pong, []); continue }
            reply = try? JSON.parse(frame.payload)
            break
        }
        XCTAssertEqual(reply?["code"]?.string, "unauthenticated")
    }

    func testTooLongLineGetsTooLargeThenClose() throws {
        let h = try start(workers: 0, configure: { $0.limits.ndjsonLineBytesMax = 64 })
        let c = try h.client()
        c.send("{\"type\":\"typing\",\"chat_id\":\"" + String(repeating: "x", count: 100))
        XCTAssertEqual(json(c.readLine())?["code"]?.string, "too_large")
        XCTAssertTrue(c.waitForClose())
    }
}
