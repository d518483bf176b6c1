// LinkTransportTests: the Unix-socket carrier of a worker link: its connect never stops the loop, and its queue bound closes a link to a worker that reads nothing.
import Foundation
import Glibc
import XCTest
import TagarelaSystem
import TestSupport
@testable import TagarelaGateway

final class LinkTransportTests: GatewayTestCase {
    func testAWorkerWhoseBacklogIsFullDoesNotStopTheLoopAndItsLinkComesUpOnceItAccepts() throws {
        let dir = NSTemporaryDirectory() + "tgw-backlog-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A "worker" that listens with a backlog of 0 and does not accept: the kernel queues one
        // connection, then refuses more (EAGAIN), where a blocking connect waits.
        let path = dir + "/worker-0.sock"
        let listener = try Socket.listenUnix(path: path, backlog: 0)
        var fillers: [Int32] = []
        defer {
            fillers.forEach { FileDescriptor.close($0) }
            FileDescriptor.close(listener)
        }
        while fillers.count < 64, let (fd, _) = try? Socket.connectUnixNonBlocking(path: path) {
            fillers.append(fd)
        }
        XCTAssertThrowsError(try Socket.connectUnixNonBlocking(path: path), "the backlog is full") { error in
            XCTAssertEqual((error as? SystemError)?.errno, EAGAIN)
        }
        /// Accepts every connection waiting; returns how many there were.
        func acceptAll() -> Int {
            var count = 0
            while let (fd, _) = try? Socket.accept(listener) {
                FileDescriptor.close(fd)
                count += 1
            }
            return count
        }
        // Whatever the test finds, the worker accepts before the gateway is stopped: a loop
        // stuck in a blocking connect could not otherwise stop.
        defer { _ = acceptAll() }

        let h = try start(workers: 1, startWorkers: false, configure: { $0.runDir = dir })
        let c = try TestClient(port: h.port, timeoutMs: 2_000)
        c.send("{\"type\":\"get_presence\",\"request_id\":\"p1\",\"user_ids\":[]}\n")
        XCTAssertEqual(json(c.readLine())?["request_id"]?.string, "p1", "the loop serves while the worker's backlog is full")

        // The worker accepts what waited; the gateway's next attempt then connects.
        XCTAssertEqual(acceptAll(), fillers.count)
        var linked = 0
        XCTAssertTrue(waitUntil(timeoutMs: 3_000) {
            linked += acceptAll()
            return linked > 0
        }, "the link connects once the worker accepts")
    }

    /// Issue 8 review: only the worker checked its peer; a socket that another account bound
    /// while the worker was down would have received logins' passwords. The gateway now
    /// refuses a worker socket whose process runs as another user id.
    func testAWorkerSocketOfAnotherUserIDIsRefused() throws {
        let log = LogLines()
        let h = try start(workers: 1, awaitLinks: false, configure: { c in
            c.workerPeerUID = UInt32(geteuid()) &+ 1  // the fake worker runs as us: "another" user
            c.log = { log.append($0) }
        })
        // The gateway's first connect attempt is made and refused before it serves anyone.
        XCTAssertTrue(waitUntil(timeoutMs: 5_000) { log.all.contains { $0.contains("refused the worker socket") } },
                      "\(log.all)")
        let c = try TestClient(port: h.port, timeoutMs: 5_000)
        c.send("{\"type\":\"login\",\"request_id\":\"l1\",\"username\":\"alice\",\"password\":\"secret-1\"}\n")
        XCTAssertEqual(json(c.readLine())?["code"]?.string, "unavailable", "nothing is sent to that socket")
        XCTAssertEqual(h.workers[0].requests.count, 0)
        XCTAssertTrue(log.all.contains { $0.contains("refused the worker socket") }, "\(log.all)")
    }

    func testALinkPastItsQueueBoundIsClosedAndItsRequestsAreAnsweredUnavailable() throws {
        let log = LogLines()
        let h = try start(workers: 1, configure: { c in
            c.limits.linkQueuedBytesMax = 1 << 20
            c.limits.linkQueueBusyBytes = 64 << 20  // only the hard bound applies
            c.log = { log.append($0) }
        })
        let fake = h.workers[0]
        let alice = try loggedIn(h, "alice", timeoutMs: 10_000)
        fake.setReadingPaused(true)

        // Four requests of 700 KB: the socket buffer takes a few hundred KB of the first, the
        // second passes 1 MiB of unsent bytes.
        let pad = String(repeating: "x", count: 700_000)
        let ids = (1...4).map { "t\($0)" }
        let sender = Thread {
            for id in ids { alice.send("{\"type\":\"typing\",\"request_id\":\"\(id)\",\"chat_id\":\"c\",\"pad\":\"\(pad)\"}\n") }
        }
        sender.start()
        XCTAssertTrue(waitUntil(timeoutMs: 10_000) { log.all.contains { $0.contains("link to worker 0 down") } },
                      "the link is closed past its bound: \(log.all)")
        fake.setReadingPaused(false)

        var answers: [String: String] = [:]
        for _ in ids {
            guard let reply = json(alice.readLine()), let id = reply["request_id"]?.string else { break }
            XCTAssertNil(answers[id], "one answer to \(id)")
            answers[id] = reply["code"]?.string ?? reply["status"]?.string
        }
        XCTAssertEqual(Set(answers.keys), Set(ids), "every request is answered: \(answers)")
        XCTAssertTrue(answers.values.contains("unavailable"), "what the closed link carried is unavailable: \(answers)")
        XCTAssertTrue(waitUntil { log.all.contains { $0.contains("link to worker 0 up") } && fake.linkCount() >= 1 },
                      "the link reconnects")
    }
}
