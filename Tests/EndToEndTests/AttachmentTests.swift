// AttachmentTests: a message with text and an attachment between two JSON clients: metadata in the event and history, the same bytes through get_attachment and GET /attachments, the same refusal for a non-member and a missing id, and the file after kill -9 of its worker and after `scale`.
import Foundation
import Glibc
import TestSupport
import XCTest

final class AttachmentTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }

    /// Deterministic bytes that are not text (every byte value occurs).
    private func fileBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var x = seed
        return (0..<count).map { _ in
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: x >> 33)
        }
    }

    private func attachmentField(name: String, mime: String, _ bytes: [UInt8]) -> (String, E2EJSON) {
        ("attachment", .object([("name", .string(name)), ("mime", .string(mime)),
                                ("data", .string(Data(bytes).base64EncodedString()))]))
    }

    private func fetch(_ client: E2EChatClient, _ chat: String, _ id: String) throws -> E2EJSON {
        try client.request("get_attachment", [("chat_id", .string(chat)), ("attachment_id", .string(id))])
    }

    private func httpGet(_ chat: String, _ id: String, token: String?) throws -> E2EHTTPResponse {
        let path = "/attachments/\(chat)/\(id)"
        let headers = token.map { ["Authorization: Bearer \($0)"] } ?? []
        return try E2EHTTP.exchange(port: port, E2EHTTP.requestBytes("GET", path, port: port, extraHeaders: headers))
    }

    /// Compares bytes without printing them (a failure names the sizes only).
    private func assertSame(_ got: [UInt8]?, _ expected: [UInt8], _ what: String, line: UInt = #line) {
        XCTAssertTrue(got == expected, "\(what): \(got?.count ?? -1) bytes, expected the \(expected.count) sent", line: line)
    }

    private func decoded(_ reply: E2EJSON) -> [UInt8]? {
        reply["data"]?.string.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }
    }

    func testAttachmentExchangeRefusalsCrashAndScale() throws {
        let people = users("att", onWorkers: [0, 1, 1])
        let (ana, bia, caio) = (people[0], people[1], people[2])
        let ca = try registeredClient(ana, .webSocket)
        let cb = try connect(.ndjson, "bia")
        let biaToken = try cb.registerAndLogin(bia)
        let cc = try connect(.ndjson, "caio")
        let caioToken = try cc.registerAndLogin(caio)
        let chat = try ca.ok("create_chat", [("user_id", .string(bia.name))])["chat"]?["id"]?.string ?? ""

        // Text and an attachment in one message (a JSON client: base64 in `data`).
        let photo = fileBytes(300_000, seed: 7)
        let sent = try ca.ok("message", [("chat_id", .string(chat)), ("content", "look"), ("client_msg_id", "p1"),
                                         attachmentField(name: "café photo.png", mime: "image/PNG", photo)])["message"]
        let meta = sent?["attachment"]
        XCTAssertEqual(meta?["name"]?.string, "café photo.png")
        XCTAssertEqual(meta?["mime"]?.string, "image/png", "media types are stored lower-case")
        XCTAssertEqual(meta?["size"]?.int, photo.count)
        XCTAssertEqual(meta?["sha256"]?.string?.count, 64)
        XCTAssertNil(meta?["data"], "a message object carries metadata only")
        let id = meta?["id"]?.string ?? ""

        // The other member's event and history carry the same metadata and no bytes.
        let event = try cb.event("message:new")
        XCTAssertEqual(event["payload"]?["attachment"], meta)
        XCTAssertEqual(event["payload"]?["content"]?.string, "look")
        let page = try cb.ok("get_messages", [("chat_id", .string(chat)), ("mark_read", false)])
        XCTAssertEqual(page["messages"]?[0]?["attachment"], meta)

        // The bytes, identical, by get_attachment and by HTTP.
        let got = assertOK(try fetch(cb, chat, id), "get_attachment")
        XCTAssertEqual(got["attachment"], meta)
        assertSame(decoded(got), photo, "get_attachment")
        let http = try httpGet(chat, id, token: biaToken)
        XCTAssertEqual(http.status, 200, http.text)
        assertSame(http.body, photo, "GET /attachments")
        XCTAssertEqual(http.header("Content-Type"), "image/png")
        XCTAssertEqual(http.header("X-Content-Type-Options"), "nosniff")
        XCTAssertEqual(http.header("Cache-Control"), "private, max-age=3600")
        XCTAssertTrue(http.header("Content-Disposition")?.contains("filename*=UTF-8''caf%C3%A9%20photo.png") ?? false)

        // A non-member gets exactly what a member gets for an id that does not exist, both ways.
        let refusedMember = try fetch(cc, chat, id)
        let missing = try fetch(cb, chat, "999")
        let missingChat = try fetch(cc, "d:nobody:none", "1")
        assertError(refusedMember, "get_attachment", "not_found")
        for other in [missing, missingChat] {
            XCTAssertEqual(other["code"], refusedMember["code"])
            XCTAssertEqual(other["message"], refusedMember["message"])
        }
        let httpRefused = try httpGet(chat, id, token: caioToken)
        let httpMissing = try httpGet(chat, "999", token: biaToken)
        let httpNoToken = try httpGet(chat, id, token: nil)
        let httpBadToken = try httpGet(chat, id, token: "\(bia.name).forged")
        for r in [httpRefused, httpMissing, httpNoToken, httpBadToken] {
            XCTAssertEqual(r.status, 404)
            XCTAssertEqual(r.body, httpRefused.body)
        }

        // The same bytes again (another name, a file only): stored once, same hash.
        let again = try cb.ok("message", [("chat_id", .string(chat)),
                                          attachmentField(name: "copy.bin", mime: "application/octet-stream", photo)])["message"]
        XCTAssertEqual(again?["attachment"]?["sha256"], meta?["sha256"])
        XCTAssertEqual(again?["content"]?.string, "")
        let download = try httpGet(chat, again?["attachment"]?["id"]?.string ?? "", token: biaToken)
        assertSame(download.body, photo, "the second message's file")
        XCTAssertTrue(download.header("Content-Disposition")?.hasPrefix("attachment;") ?? false, "non-images are downloads")
        let shard = worker(of: chat)
        let files = try FileManager.default.contentsOfDirectory(atPath: instance.dataDir + "/shard-\(shard)/attachments")
        XCTAssertEqual(files, [meta?["sha256"]?.string ?? ""], "one file for both messages")

        // Neither text nor attachment; bad base64; a name with a path in it.
        assertError(try ca.request("message", [("chat_id", .string(chat))]), "message", "bad_request")
        assertError(try ca.request("message", [("chat_id", .string(chat)),
                                               ("attachment", .object([("name", "a"), ("mime", "text/plain"), ("data", "QQ=")]))]),
                    "message", "bad_request")
        assertError(try ca.request("message", [("chat_id", .string(chat)), attachmentField(name: "../x", mime: "text/plain", [1])]),
                    "message", "bad_request")

        // kill -9 of the chat's worker: after the supervisor's restart the file is there.
        guard let pid = instance.workerPID(shard) else { return XCTFail("no worker-\(shard) pid") }
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        var afterCrash: E2EJSON = .null
        let back = E2EProcess.waitUntil(timeoutMs: 15_000, intervalMs: 50) {
            guard let reply = try? self.fetch(cb, chat, id), reply["status"]?.string == "ok" else { return false }
            afterCrash = reply
            return true
        }
        XCTAssertTrue(back, "the shard is back\n\(instance.logTail())")
        assertSame(decoded(afterCrash), photo, "after kill -9")

        // scale moves the file with its chat, whichever shard that now is.
        cb.close()
        ca.close()
        cc.close()
        try instance.scale(to: 3)
        let cb3 = try loggedInClient(bia, .ndjson, label: "bia-after-scale")
        assertSame(decoded(assertOK(try fetch(cb3, chat, id), "get_attachment")), photo, "after scale")
        assertSame(try httpGet(chat, id, token: biaToken).body, photo, "after scale, over HTTP with an old token")
        let newShard = worker(of: chat)
        XCTAssertTrue(FileManager.default.fileExists(atPath: instance.dataDir + "/shard-\(newShard)/attachments/"
                                                     + (meta?["sha256"]?.string ?? "")))
    }
}
