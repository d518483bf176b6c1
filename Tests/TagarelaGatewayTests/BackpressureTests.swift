// BackpressureTests: a worker that stops answering or reading makes the gateway stop reading the clients that feed it, within the link's bounds, and every request is still answered exactly once.
import Foundation
import XCTest
import TagarelaLink
import TagarelaWire
@testable import TagarelaGateway

final class BackpressureTests: GatewayTestCase {
    /// A switch the fake worker's responder reads on its own thread.
    final class Switch: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isOn: Bool {
            get { lock.lock(); defer { lock.unlock() }; return value }
            set { lock.lock(); value = newValue; lock.unlock() }
        }
    }

    func typingLine(_ id: String, pad: String = "") -> String {
        "{\"type\":\"typing\",\"request_id\":\"\(id)\",\"chat_id\":\"c\"" + (pad.isEmpty ? "" : ",\"pad\":\"\(pad)\"") + "}\n"
    }

    /// The request ids of the `typing` requests the fake received, in arrival order.
    func typingIDs(_ fake: FakeWorker) -> [String] {
        fake.requests.compactMap { r -> String? in
            let text = String(decoding: r.json, as: UTF8.self)
            return Canned.field("type", in: text) == "typing" ? Canned.field("request_id", in: text) : nil
        }
    }

    /// A round trip the gateway answers itself (`unauthenticated`) on a fresh connection: once it
    /// is answered, the loop has had a turn after every byte sent before it (loopback delivers a
    /// send before it returns, and epoll reports every readable connection at once).
    func barrier(_ observer: TestClient, _ id: String) -> Int {
        let line = typingLine(id)
        observer.send(line)
        XCTAssertEqual(json(observer.readLine())?["request_id"]?.string, id)
        return line.utf8.count
    }

    /// Each client's connection on the gateway (looked up by user), with its reading and holding state.
    func clientStates(_ h: GatewayHarness, _ users: [String]) -> [(paused: Bool, reading: Bool, held: Int)] {
        onLoop(h) { loop in
            users.map { user in
                guard let conn = loop.byUser[user]?.first else { return (false, true, -1) }
                return (conn.session.pausedForLink, !conn.channel.isReadingPaused, conn.session.heldCount)
            }
        }
    }

    func testInFlightBoundStopsReadingTheFeedingClientsUntilTheWorkerAnswers() throws {
        let bound = 8
        let stalled = Switch()
        let h = try start(workers: 1, respond: { r in
            let text = String(decoding: r.json, as: UTF8.self)
            if stalled.isOn && Canned.field("type", in: text) == "typing" { return nil }
            return GatewayHarness.standardReply(r)
        }, configure: { c in
            c.limits.inFlightRequestsPerWorkerMax = bound
            c.limits.requestsPerSecond = 100_000
            c.limits.requestBurst = 100_000
        })
        let fake = h.workers[0]
        let users = ["alice", "bob", "carol"]
        let clients = try users.map { try loggedIn(h, $0) }
        let observer = try h.client()
        stalled.isOn = true

        // Each client pipelines 30 requests in one write, far past the bound of 8.
        let perClient = 30
        for (client, user) in zip(clients, users) {
            client.send((0..<perClient).map { typingLine("\(user)-\($0)") }.joined())
        }
        XCTAssertTrue(waitUntil { self.typingIDs(fake).count >= bound }, "the worker gets requests up to the bound")
        var sentToGateway = barrier(observer, "b1")
        let forwarded = typingIDs(fake)
        // A client parked by a full link forwards nothing more; each may carry the link at most
        // one request past the bound (the one that found it full).
        XCTAssertGreaterThanOrEqual(forwarded.count, bound)
        XCTAssertLessThanOrEqual(forwarded.count, bound + users.count - 1, "in flight past the bound: \(forwarded)")
        let states = clientStates(h, users)
        for (user, state) in zip(users, states) {
            XCTAssertTrue(state.paused, "\(user) is parked on the full link")
            XCTAssertFalse(state.reading, "\(user) is not read while the link is full")
        }
        XCTAssertEqual(states.map(\.held).reduce(0, +), users.count * perClient - forwarded.count,
                       "what was read past the bound waits in the gateway, not on the link")
        XCTAssertEqual(onLoop(h) { $0.links[0].inFlight }, forwarded.count)
        let gauges = samples(metricsText(h))
        XCTAssertEqual(gauges["tagarela_worker_in_flight{worker=\"0\"}"], forwarded.count)
        XCTAssertEqual(gauges["tagarela_backpressure_pauses_total"], users.count)

        // More from a parked client is not even read: the gateway's input count moves only by the barrier.
        let bytesBefore = onLoop(h) { $0.counters.bytesIn }
        clients[0].send((perClient..<(perClient + 10)).map { typingLine("alice-\($0)") }.joined())
        sentToGateway = barrier(observer, "b2")
        XCTAssertEqual(onLoop(h) { $0.counters.bytesIn } - bytesBefore, sentToGateway, "a parked client's bytes stay in the kernel")
        XCTAssertEqual(typingIDs(fake).count, forwarded.count)

        // The worker answers again: everything drains, each request answered once, in order.
        stalled.isOn = false
        XCTAssertEqual(fake.answerUnanswered(), forwarded.count)
        for (client, user) in zip(clients, users) {
            let count = user == "alice" ? perClient + 10 : perClient
            for i in 0..<count {
                let reply = json(client.readLine())
                XCTAssertEqual(reply?["request_id"]?.string, "\(user)-\(i)", "answers keep the sending order")
                XCTAssertEqual(reply?["status"]?.string, "ok")
            }
            client.send("{\"type\":\"get_presence\",\"request_id\":\"after\",\"user_ids\":[]}\n")
            XCTAssertEqual(json(client.readLine())?["request_id"]?.string, "after", "\(user): no answer twice")
        }
        let all = typingIDs(fake)
        XCTAssertEqual(all.count, Set(all).count, "no request forwarded twice")
        XCTAssertEqual(all.count, users.count * perClient + 10)
        XCTAssertEqual(clientStates(h, users).map(\.reading), [true, true, true], "reading resumed")
        XCTAssertEqual(onLoop(h) { $0.links[0].inFlight }, 0)
    }

    func testQueuedBytesBoundStopsReadingWhileTheWorkerDoesNotRead() throws {
        let h = try start(workers: 1, configure: { c in
            c.limits.inFlightRequestsPerWorkerMax = 1_000_000  // only the byte bound applies
            c.limits.requestsPerSecond = 100_000
            c.limits.requestBurst = 100_000
        })
        let fake = h.workers[0]
        let users = ["alice", "bob"]
        let clients = try users.map { try loggedIn(h, $0, timeoutMs: 10_000) }
        let observer = try h.client()
        fake.setReadingPaused(true)

        // 2 x 80 requests of 64 KiB: 10 MiB, well past the link's 4 MiB mark and the kernel's
        // socket buffers. Sent from other threads, since the gateway stops reading them.
        let pad = String(repeating: "x", count: 64 * 1024)
        let perClient = 80
        let requestBytes = typingLine("alice-00", pad: pad).utf8.count
        let senders = DispatchGroup()
        for (client, user) in zip(clients, users) {
            let lines = (0..<perClient).map { typingLine("\(user)-\(String(format: "%02d", $0))", pad: pad) }
            DispatchQueue.global().async(group: senders) {
                for line in lines { client.send(line) }
            }
        }
        let highWater = Limits().linkQueueBusyBytes
        XCTAssertTrue(waitUntil(timeoutMs: 10_000) {
            self.clientStates(h, users).allSatisfy { $0.paused }
        }, "both clients are parked once the link's queue passes \(highWater) bytes")
        _ = barrier(observer, "b1")
        let link = onLoop(h) { loop in (up: loop.links[0].isUp, queued: loop.links[0].queuedBytes) }
        XCTAssertTrue(link.up, "the link is not dropped: its hard bound is far above the busy mark")
        XCTAssertGreaterThanOrEqual(link.queued, highWater - requestBytes)
        XCTAssertLessThanOrEqual(link.queued, highWater + users.count * (requestBytes + 256),
                                 "at most one request per client past the mark")
        XCTAssertTrue(clientStates(h, users).allSatisfy { !$0.reading })

        // The worker reads again: every request arrives once and is answered once, in order.
        fake.setReadingPaused(false)
        for (client, user) in zip(clients, users) {
            for i in 0..<perClient {
                let reply = json(client.readLine())
                XCTAssertEqual(reply?["request_id"]?.string, "\(user)-\(String(format: "%02d", i))")
                XCTAssertEqual(reply?["status"]?.string, "ok")
            }
        }
        XCTAssertEqual(senders.wait(timeout: .now() + 10), .success, "the senders finished")
        for client in clients {
            client.send("{\"type\":\"get_presence\",\"request_id\":\"after\",\"user_ids\":[]}\n")
            XCTAssertEqual(json(client.readLine())?["request_id"]?.string, "after", "no answer twice")
        }
        let all = typingIDs(fake)
        XCTAssertEqual(all.count, users.count * perClient)
        XCTAssertEqual(Set(all).count, all.count)
        XCTAssertEqual(onLoop(h) { $0.links[0].queuedBytes }, 0)
    }

    /// Requests behind a login wait for the login's own answer; the answer to a request sent
    /// before the login must not let them through early (they would run as the old user).
    func testRequestsHeldBehindALoginWaitForItsAnswerNotAnEarlierOne() throws {
        let h = try start(workers: 1, respond: { r in
            let text = String(decoding: r.json, as: UTF8.self)
            if Canned.field("type", in: text) == "login" && Canned.field("username", in: text) == "bob" { return nil }
            return GatewayHarness.standardReply(r)
        })
        let fake = h.workers[0]
        let c = try loggedIn(h, "alice")
        let other = try loggedIn(h, "carol")
        c.send(typingLine("t1") + loginLine("bob", id: "l2") + typingLine("t2"))
        XCTAssertEqual(json(c.readLine())?["request_id"]?.string, "t1")
        // Whatever the gateway forwarded up to t1's answer reaches the fake before this request.
        other.send(typingLine("fence"))
        XCTAssertEqual(json(other.readLine())?["request_id"]?.string, "fence")
        XCTAssertEqual(typingIDs(fake), ["t1", "fence"], "t2 waits for the login in flight")

        XCTAssertEqual(fake.answerUnanswered(with: GatewayHarness.standardReply), 1)
        XCTAssertEqual(json(c.readLine())?["request_id"]?.string, "l2")
        XCTAssertEqual(json(c.readLine())?["request_id"]?.string, "t2")
        let t2 = fake.requests.last { Canned.field("request_id", in: String(decoding: $0.json, as: UTF8.self)) == "t2" }
        XCTAssertEqual(t2?.userID, "bob", "t2 runs as the user the login made")
    }
}
