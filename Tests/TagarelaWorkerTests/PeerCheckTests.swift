// PeerCheckTests: the worker serves a link only when the kernel says its peer runs as the allowed user id (SO_PEERCRED).
import Foundation
import Glibc
import TagarelaJSON
import TagarelaLink
@testable import TagarelaWorker
import TestSupport
import XCTest

final class PeerCheckTests: XCTestCase {
    /// Runs a WorkerServer in this process that admits only `allowedUID`, and gives `body` its
    /// socket path and the log lines so far; stops it at the end of the test.
    private func withWorker(allowedUID: uid_t, _ body: (String, () -> [String]) throws -> Void) throws {
        let lock = NSLock()
        var lines: [String] = []
        try withWorker({ config in
            config.pbkdf2Iterations = 10
            config.allowedPeerUID = allowedUID
        }, log: { line in lock.lock(); lines.append(line); lock.unlock() }) { path in
            try body(path, { lock.lock(); defer { lock.unlock() }; return lines })
        }
    }

    func testAPeerOfAnotherUserIDIsClosedUnansweredAndLogged() throws {
        // The test runs as one uid; a worker told to admit only another one must refuse it, as it
        // refuses any other account that reaches its socket.
        let other = geteuid() == 65534 ? uid_t(65533) : uid_t(65534)
        try withWorker(allowedUID: other) { path, lines in
            let client = try LoopbackClient(unixPath: path)
            defer { client.close() }
            // What the issue's intruder sent: a request claiming to be a user, with no token.
            let request = LinkRequest(requestID: 1, connectionID: 1, userID: "alice",
                                      json: Array(#"{"type":"get_user_chats"}"#.utf8))
            try? client.send(LinkCodec.encoded(.request(request)) + LinkCodec.encoded(.ping(9)))
            XCTAssertEqual(try client.readUntilClosed(timeoutMs: 5000), [], "closed without a byte of answer")
            XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: 5000) {
                lines().contains { $0.contains("refused") && $0.contains("uid \(geteuid())") }
            }, "\(lines())")
        }
    }

    func testAPeerOfTheAllowedUserIDIsServed() throws {
        try withWorker(allowedUID: geteuid()) { path, _ in
            let client = try LinkTestClient(path: path)
            defer { client.close() }
            let (reply, _) = try client.request(#"{"type":"register","username":"ana","password":"password1"}"#)
            XCTAssertEqual(reply["status"], "ok")
        }
    }
}
