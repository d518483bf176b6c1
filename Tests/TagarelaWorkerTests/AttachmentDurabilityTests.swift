// AttachmentDurabilityTests: a real worker process writes a message's file before its journal record: a failed file write stores no message, and an acknowledged attachment survives kill -9.
import Foundation
import TagarelaCrypto
import TagarelaJSON
import TestSupport
import XCTest

final class AttachmentDurabilityTests: XCTestCase {
    private var dir: TempDirectory!
    private var process: Process?

    override func setUp() { dir = TempDirectory(prefix: "tagarela-attach-worker") }

    override func tearDown() {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        dir.remove()
    }

    private var socketPath: String { dir.path + "/worker-0.sock" }
    private var attachments: String { dir.path + "/shard-0/attachments" }

    private func startWorker() throws {
        process = try startWorkerProcess(dataDirectory: dir.path, socketPath: socketPath)
    }

    func testTheFileIsDurableBeforeTheRecordAndSurvivesKill9() throws {
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let sha = SHA256.hash(bytes).map { String(format: "%02x", $0) }.joined()
        let send = #"{"type":"message","chat_id":"d:alice:bob","attachment":{"name":"f.bin","mime":"application/octet-stream","data":"\#(Base64.encode(bytes))"}}"#
        try startWorker()
        var client = try LinkTestClient(path: socketPath)
        for (name, pw) in [("alice", "password1"), ("bob", "password2")] {
            XCTAssertEqual(try client.request(#"{"type":"register","username":"\#(name)","password":"\#(pw)"}"#).0["status"], "ok")
        }
        XCTAssertEqual(try client.request(#"{"type":"create_chat","user_id":"bob"}"#, user: "alice").0["status"], "ok")

        // The file cannot be written (a folder sits where its temporary file goes): the worker
        // must stop without journaling the message, so no restart ever finds it without its file.
        try FileManager.default.createDirectory(atPath: attachments + "/" + sha + ".tmp", withIntermediateDirectories: true)
        let answer = try? client.request(send, user: "alice")
        XCTAssertNil(answer?.0, "no answer for a message whose file failed")
        let deadline = Date().addingTimeInterval(10)
        while process!.isRunning && Date() < deadline { usleep(20_000) }
        if process!.isRunning {
            XCTFail("the worker went on after a failed attachment write")
            kill(process!.processIdentifier, SIGKILL)
        }
        process!.waitUntilExit()
        XCTAssertEqual(process!.terminationStatus, 70)
        client.close()
        try startWorker()
        client = try LinkTestClient(path: socketPath)
        let (empty, _) = try client.request(#"{"type":"get_messages","chat_id":"d:alice:bob"}"#, user: "alice")
        XCTAssertEqual(empty["messages"]?.array?.count, 0, "the message whose file failed was not stored: \(empty)")
        XCTAssertEqual(directoryNames(attachments), [], "the leftover temporary was swept at start")

        // Acknowledged, then kill -9: the file and its message are both there after the restart.
        let (sent, _) = try client.request(send, user: "alice")
        XCTAssertEqual(sent["message"]?["attachment"]?["sha256"]?.string, sha)
        XCTAssertEqual(directoryNames(attachments), [sha])
        kill(process!.processIdentifier, SIGKILL)
        process!.waitUntilExit()
        client.close()
        try startWorker()
        client = try LinkTestClient(path: socketPath)
        defer { client.close() }
        let (got, _) = try client.request(#"{"type":"get_attachment","chat_id":"d:alice:bob","attachment_id":"1"}"#, user: "bob")
        XCTAssertTrue(got["data"]?.string == Base64.encode(bytes), "the bytes after kill -9")
        XCTAssertEqual(directoryNames(attachments), [sha], "a referenced file is kept at start")
    }
}

private func directoryNames(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}
