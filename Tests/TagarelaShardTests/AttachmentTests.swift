// AttachmentTests: a message's attachment in the engine: checked and hashed, its file handed to the worker, metadata only in responses and events, journal and snapshot, get_attachment's single refusal, resharding's file lists.

import Foundation
import TagarelaCrypto
import TagarelaJSON
import TagarelaShard
import XCTest

final class AttachmentTests: XCTestCase {
    let bytes: [UInt8] = Array(0...255) + Array("hello".utf8)

    func setUpChat() -> (EngineHarness, String) {
        let h = EngineHarness()
        h.register("alice", "bob", "eve")
        return (h, h.group("alice", ["bob"]))
    }

    func upload(_ chat: String, name: String = "a.bin", mime: String = "application/octet-stream", data: [UInt8]? = nil,
                content: String? = nil, cmid: String? = nil) -> String {
        let text = content.map { #","content":"\#($0)""# } ?? ""
        let key = cmid.map { #","client_msg_id":"\#($0)""# } ?? ""
        return #"{"type":"message","chat_id":"\#(chat)"\#(text)\#(key),"attachment":{"name":"\#(name)","mime":"\#(mime)","data":"\#(Base64.encode(data ?? bytes))"}}"#
    }

    func testAMessageCarriesMetadataAndHandsTheFileToTheWorker() throws {
        let (h, g) = setUpChat()
        let r = h.send(upload(g, name: "photo.png", mime: "Image/PNG", content: "look"), as: "bob")
        let j = h.json(r)
        XCTAssertOK(j)
        let sha = hexOf(SHA256.hash(bytes))
        XCTAssertEqual(j["message"]?["attachment"], ["id": "1", "name": "photo.png", "mime": "image/png",
                                                      "size": .int(Int64(bytes.count)), "sha256": .string(sha)])
        XCTAssertEqual(j["message"]?["content"], "look")
        XCTAssertEqual(r.files, [AttachmentFile(sha256: sha, bytes: bytes)], "the file to make durable before the record")
        XCTAssertEqual(r.records.count, 1)
        XCTAssertFalse(String(decoding: r.records[0], as: UTF8.self).contains(Base64.encode(bytes)),
                       "the journal record references the file; it does not hold the bytes")
        let event = try JSON.parse(r.events[0].json)
        XCTAssertEqual(event["payload"], j["message"], "the event carries the same metadata, no bytes")
        // An attachment alone: content is "".
        let alone = h.json(h.send(upload(g), as: "alice"))
        XCTAssertEqual(alone["message"]?["content"], "")
        XCTAssertEqual(alone["message"]?["attachment"]?["id"], "2")
        // A text message has no `attachment` key at all.
        XCTAssertNil(h.json(h.say("bob", g, "plain"))["message"]?["attachment"])
    }

    func testAResendStoresNoSecondFile() {
        let (h, g) = setUpChat()
        XCTAssertEqual(h.send(upload(g, cmid: "k"), as: "bob").files.count, 1)
        let again = h.send(upload(g, cmid: "k"), as: "bob")
        XCTAssertTrue(again.files.isEmpty && again.records.isEmpty)
    }

    func testBadUploadsAreRefused() {
        let (h, g) = setUpChat()
        func code(_ json: String) -> String? { h.json(h.send(json, as: "bob"))["code"]?.string }
        XCTAssertEqual(code(#"{"type":"message","chat_id":"\#(g)"}"#), "bad_request", "neither text nor attachment")
        for bad in ["QQ=", "QQ==\n", "QR==", "Q Q=", "====", ""] {
            XCTAssertEqual(code(#"{"type":"message","chat_id":"\#(g)","attachment":{"name":"a","mime":"a/b","data":"\#(bad)"}}"#),
                           "bad_request", "strict base64: \(bad)")
        }
        for name in ["a/b", "..", "a\\\\b", "a\\u0001", "a\\u0085", ""] {
            XCTAssertEqual(code(upload(g, name: name)), "bad_request", "name \(name)")
        }
        for mime in ["text", "text/", "/plain", "text/plain; charset=utf-8", "te xt/plain", String(repeating: "a", count: 64) + "/" + String(repeating: "b", count: 64)] {
            XCTAssertEqual(code(upload(g, mime: mime)), "bad_request", "mime \(mime)")
        }
        XCTAssertEqual(code(upload(g, name: String(repeating: "é", count: 255))), nil, "255 characters are allowed")
        XCTAssertEqual(code(upload(g, name: String(repeating: "é", count: 256))), "bad_request")
        XCTAssertEqual(code(upload(g, data: [UInt8](repeating: 7, count: 512 * 1024 + 1))), "too_large", "past the protocol's 512 KiB")
        XCTAssertEqual(code(upload("g:none")), "not_found")
        XCTAssertEqual(h.json(h.send(upload(g), as: "eve"))["code"], "forbidden")
    }

    func testTheShardSettingLowersTheSize() {
        let h = EngineHarness(tune: { $0.attachmentBytesMax = 100 })
        h.register("alice", "bob")
        let g = h.group("alice", ["bob"])
        XCTAssertEqual(h.json(h.send(upload(g, data: [UInt8](repeating: 1, count: 101)), as: "bob"))["code"], "too_large")
        XCTAssertOK(h.json(h.send(upload(g, data: [UInt8](repeating: 1, count: 100)), as: "bob")))
    }

    func testGetAttachmentIsForMembersAndRefusesAlikeOtherwise() throws {
        let (h, g) = setUpChat()
        h.say("alice", g, "text first")
        h.send(upload(g), as: "bob")
        func get(_ user: String, _ chat: String, _ id: String) -> EngineResult {
            h.send(#"{"type":"get_attachment","request_id":"r","chat_id":"\#(chat)","attachment_id":"\#(id)"}"#, as: user)
        }
        let ok = get("alice", g, "2")
        XCTAssertEqual(ok.attachmentRead?.attachment.sha256, hexOf(SHA256.hash(bytes)))
        XCTAssertEqual(ok.attachmentRead?.requestID, "r")
        let answer = try JSON.parse(ShardEngine.attachmentResponse(ok.attachmentRead!, bytes: bytes))
        XCTAssertEqual(answer["data"]?.string, Base64.encode(bytes))
        XCTAssertEqual(answer["attachment"]?["id"], "2")
        // A non-member, a missing chat, a message without attachment, a seq past the end and
        // ids of no form all get the same bytes.
        let refusals = [get("eve", g, "2"), get("alice", "g:none", "2"), get("alice", g, "1"), get("alice", g, "3"),
                        get("alice", g, "02"), get("alice", g, "-1"), get("alice", g, "x")]
        for r in refusals {
            XCTAssertNil(r.attachmentRead)
            XCTAssertEqual(r.response, refusals[0].response)
        }
        XCTAssertEqual(h.json(refusals[0])["code"], "not_found")
    }

    func testMetadataSurvivesReplayAndSnapshotAndReshardListsFiles() throws {
        let (h, g) = setUpChat()
        let d = h.directChat("alice", "eve")
        h.send(upload(g, name: "x.png", mime: "image/png"), as: "bob")
        h.send(upload(d, data: [1, 2, 3]), as: "eve")
        h.send(upload(d), as: "alice")
        let replayed = try ShardEngine.load(snapshot: nil, records: h.journal, config: h.config)
        XCTAssertEqual(replayed.snapshot(), h.engine.snapshot())
        let restored = try ShardEngine.load(snapshot: h.engine.snapshot(), records: [], config: h.config)
        XCTAssertEqual(restored.snapshot(), h.engine.snapshot())
        let all = Set([hexOf(SHA256.hash(bytes)), hexOf(SHA256.hash([1, 2, 3]))])
        XCTAssertEqual(restored.referencedAttachments(), all, "the same bytes twice are one file")
        let page = { (e: ShardEngine) -> [UInt8] in
            guard case .done(let r) = e.handle(EngineRequest(json: Array(#"{"type":"get_messages","chat_id":"\#(d)","mark_read":false}"#.utf8),
                                                             userID: "alice")) else { return [] }
            return r.response
        }
        XCTAssertEqual(page(restored), page(h.engine))
        // Split by chat: each new shard lists exactly its chats' files.
        let split = try ShardEngine.reshardWithAttachments(shards: [(h.engine.snapshot(), [])], into: 2, config: h.config,
                                                           slotOf: { $0 == g ? 0 : $0 == d ? 1 : $0.count })
        XCTAssertEqual(split[0].attachments, [hexOf(SHA256.hash(bytes))])
        XCTAssertEqual(Set(split[1].attachments), all)
    }
}

private func hexOf(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
