// NATSConnectionTests: the client against a real nats-server: pub/sub, queue groups, request/reply, headers, auth.
import TagarelaNATS
import TestSupport
import XCTest

final class NATSConnectionTests: XCTestCase {
    func testPublishSubscribeWithHeadersAndReply() throws {
        let (server, loop) = try natsServerAndLoop()
        defer { loop.stop(); server.stop() }
        let a = loop.connected(server.urlList, name: "a")
        let b = loop.connected(server.urlList, name: "b")
        loop.sync { _ = b.connection.subscribe("chat.*.in") { b.messages.append($0) } }
        // A subscription is active once the server has seen it: a request round trip after it proves that.
        loop.sync { _ = b.connection.subscribe("sync") { m in b.connection.publish(m.reply!, payload: []) } }
        // flush: once b's PING is answered, the server has b's subscriptions; the first request finds them.
        var flushed: Bool?
        loop.sync { b.connection.flush(timeoutMs: 2000) { flushed = $0 } }
        loop.waitUntil { flushed != nil }
        var answer: Result<NATSMessage, NATSError>?
        loop.sync { a.connection.request("sync", payload: [], timeoutMs: 2000) { answer = $0 } }
        loop.waitUntil { answer != nil }
        loop.sync { XCTAssertEqual(flushed, true); XCTAssertNotNil(try? answer?.get()) }
        loop.sync {
            a.connection.publish("chat.1.in", payload: Array("one".utf8))
            a.connection.publish("chat.2.in", reply: "back.here", headers: [("X-Kind", "two"), ("X-Kind", "again")],
                                 payload: Array("two".utf8))
            a.connection.publish("chat.3.other", payload: Array("nobody".utf8))
        }
        loop.waitUntil({ b.messages.count == 2 })
        loop.sync {
            XCTAssertEqual(b.messages[0], NATSMessage(subject: "chat.1.in", reply: nil, headers: [], status: nil, payload: Array("one".utf8)))
            XCTAssertEqual(b.messages[1], NATSMessage(subject: "chat.2.in", reply: "back.here",
                                                      headers: [("X-Kind", "two"), ("X-Kind", "again")], status: nil,
                                                      payload: Array("two".utf8)))
        }
        usleep(100_000)
        loop.sync { XCTAssertEqual(b.messages.count, 2, "chat.3.other matched chat.*.in") }
    }

    func testQueueGroupDeliversEachMessageOnce() throws {
        let (server, loop) = try natsServerAndLoop()
        defer { loop.stop(); server.stop() }
        let members = (0..<3).map { loop.connect(server.urlList, name: "m\($0)") }
        let sender = loop.connect(server.urlList)
        loop.waitUntil({ members.allSatisfy { $0.connection.isConnected } && sender.connection.isConnected })
        loop.sync { for m in members { m.connection.subscribe("work", queue: "workers") { msg in m.messages.append(msg) } } }
        // Wait until every member's SUB reached the server: a ping round trip per member.
        for m in members {
            var pinged = false
            loop.sync { m.connection.subscribe("ping.\(ObjectIdentifier(m).hashValue & 0xffff)") { _ in pinged = true } }
            loop.sync { m.connection.publish("ping.\(ObjectIdentifier(m).hashValue & 0xffff)", payload: []) }
            loop.waitUntil({ pinged })
        }
        loop.sync { for i in 0..<300 { sender.connection.publish("work", payload: Array("\(i)".utf8)) } }
        loop.waitUntil({ members.map { $0.messages.count }.reduce(0, +) == 300 })
        usleep(100_000)
        loop.sync {
            let all = members.flatMap { $0.messages.map { String(decoding: $0.payload, as: UTF8.self) } }
            XCTAssertEqual(Set(all).count, 300)
            XCTAssertEqual(all.count, 300, "a queue group delivers each message to one member only")
        }
    }

    func testRequestReplyNoRespondersAndTimeout() throws {
        let (server, loop) = try natsServerAndLoop()
        defer { loop.stop(); server.stop() }
        let client = loop.connect(server.urlList)
        let service = loop.connect(server.urlList)
        loop.waitUntil({ client.connection.isConnected && service.connection.isConnected })
        loop.sync {
            // "silent" first: once "echo" answers, the server has seen both (one connection is in order).
            service.connection.subscribe("silent") { _ in }
            service.connection.subscribe("echo") { m in
                service.connection.publish(m.reply!, headers: [("Echoed", "yes")], payload: m.payload.reversed())
            }
        }
        var results: [String: Result<NATSMessage, NATSError>] = [:]
        loop.waitForResponder(client, "echo")
        loop.sync {
            client.connection.request("echo", payload: Array("abc".utf8), timeoutMs: 2000) { results["echo"] = $0 }
            client.connection.request("nobody.here", payload: [], timeoutMs: 2000) { results["none"] = $0 }
            client.connection.request("silent", payload: [], timeoutMs: 300) { results["silent"] = $0 }
        }
        loop.waitUntil({ results.count == 3 })
        loop.sync {
            let echo = try? results["echo"]!.get()
            XCTAssertEqual(echo?.payload, Array("cba".utf8))
            XCTAssertEqual(echo?.header("echoed"), "yes")
            XCTAssertEqual(results["none"].map { r -> NATSError? in if case .failure(let e) = r { return e }; return nil }, .noResponders)
            XCTAssertEqual(results["silent"].map { r -> NATSError? in if case .failure(let e) = r { return e }; return nil }, .timeout)
        }
    }

    func testTokenAuthAcceptedAndRefusedWithAClearError() throws {
        let (server, loop) = try natsServerAndLoop(token: "s3cret")
        defer { loop.stop(); server.stop() }
        let good = loop.connect(server.urlList, token: "s3cret")
        let inURL = loop.connect("nats://s3cret@127.0.0.1:\(server.nodes[0].clientPort)")
        let bad = loop.connect(server.urlList, token: "wrong")
        loop.waitUntil({ good.connection.isConnected && inURL.connection.isConnected })
        loop.waitUntil({ bad.errors.contains { $0.contains("refused our credentials") } })
        usleep(500_000)  // several more attempts (100 ms apart): still said once
        loop.sync {
            XCTAssertEqual(bad.errors.filter { $0.contains("refused our credentials") }.count, 1, "\(bad.errors)")
            XCTAssertTrue(bad.errors.last?.contains("refused our credentials") == true, "the last word: \(bad.errors)")
            XCTAssertFalse(bad.connection.isConnected)
            XCTAssertFalse(bad.states.contains { if case .connected = $0 { return true }; return false })
            bad.connection.close()
        }
    }

    func testUserPasswordAuthAcceptedAndRefused() throws {
        let (server, loop) = try natsServerAndLoop(user: "gw", password: "p@ss:word")
        defer { loop.stop(); server.stop() }
        let port = server.nodes[0].clientPort
        let good = loop.connect("nats://gw:p%40ss%3Aword@127.0.0.1:\(port)")
        let bad = loop.connect("nats://gw:wrong@127.0.0.1:\(port)")
        loop.waitUntil { good.connection.isConnected }
        loop.waitUntil { bad.errors.contains { $0.contains("refused our credentials") } }
        loop.sync {
            XCTAssertFalse(bad.connection.isConnected)
            XCTAssertFalse(bad.errors.joined().contains("wrong"), "the password is never printed")
            bad.connection.close()
        }
    }

    func testTLSURLIsRefusedWithTheReason() throws {
        XCTAssertThrowsError(try NATSServerURL.parse("tls://127.0.0.1:4222")) { error in
            XCTAssertTrue("\(error)".contains("TLS is not offered"), "\(error)")
            XCTAssertTrue("\(error)".contains("terminate TLS in front"), "\(error)")
        }
    }
}
