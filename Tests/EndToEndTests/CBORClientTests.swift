// CBORClientTests: a `tagarela.cbor` client and JSON clients in one chat (PROTOCOL.md 1.3): the same content on every side, CBOR binary frames only on the CBOR connection.
import Foundation
import TestSupport
import XCTest

final class CBORClientTests: EndToEndTestCase {
    /// A CBOR user and a JSON user (WebSocket and raw TCP connections) on two shards create a
    /// chat and exchange messages both ways: every event, response and history page is the same
    /// JSON value on both sides.
    func testCBORAndJSONClientsExchangeTextMessages() throws {
        let pair = users("cbx", onWorkers: [0, 1])
        let (a, b) = (pair[0], pair[1])
        let cbor = try registeredClient(a, .cbor, label: "a-cbor")
        let json = try registeredClient(b, .webSocket, label: "b-json")
        let line = try loggedInClient(b, .ndjson, label: "b-line")

        let chat = assertOK(try cbor.request("create_chat", [("user_id", .string(b.name))]), "create_chat")["chat"]
        let chatID = chat?["id"]?.string ?? ""
        for c in [json, line] {
            XCTAssertEqual(try c.event("chat:new")["payload"], chat, c.label)
        }

        // CBOR to JSON: text outside ASCII, escapes and an emoji arrive unchanged.
        let fromCBOR = try exchange(from: cbor, to: [json, line], chatID: chatID, content: "olá \"mundo\"\n😀 \u{1}")
        assertMessage(fromCBOR, chat: chatID, seq: 1, sender: a.name, content: "olá \"mundo\"\n😀 \u{1}")
        // JSON to CBOR.
        let fromJSON = try exchange(from: json, to: [cbor, line], chatID: chatID, content: "tudo bem? ✓")
        assertMessage(fromJSON, chat: chatID, seq: 2, sender: b.name, content: "tudo bem? ✓")

        // History reads the same on both sides (read state has moved on since the sends).
        let pageA = assertOK(try cbor.request("get_messages", [("chat_id", .string(chatID))]), "get_messages")
        let pageB = assertOK(try json.request("get_messages", [("chat_id", .string(chatID))]), "get_messages")
        XCTAssertEqual(pageA["messages"], pageB["messages"])
        XCTAssertEqual(pageA["messages"]?.array?.count, 2)
        XCTAssertEqual(pageA["messages"]?.array?.map { $0["id"] }, [fromCBOR["id"], fromJSON["id"]])
        XCTAssertEqual(pageA["messages"]?.array?.map { $0["content"] }, [fromCBOR["content"], fromJSON["content"]])

        // The CBOR connection received only binary CBOR (its transport throws on text), and a
        // refusal comes in CBOR too.
        XCTAssertFalse((cbor.transport as? E2ECBORClient)?.binaryMessages.isEmpty ?? true)
        let refused = try cbor.request("message", [("chat_id", .string(chatID)), ("content", 5)])
        XCTAssertEqual(refused["code"]?.string, "bad_request", "\(refused)")
    }

    /// A CBOR client sends a message with text and an attachment (its bytes a CBOR byte
    /// string); the JSON member gets the same metadata in its event, and both read the same
    /// bytes back with `get_attachment`: base64 for JSON, a byte string for CBOR (issue 12).
    func testCBORAndJSONClientsExchangeAnAttachment() throws {
        let pair = users("cba", onWorkers: [0, 1])
        let (a, b) = (pair[0], pair[1])
        let cbor = try registeredClient(a, .cbor, label: "a-cbor")
        let json = try registeredClient(b, .webSocket, label: "b-json")
        let chatID = assertOK(try cbor.request("create_chat", [("user_id", .string(b.name))]), "create_chat")["chat"]?["id"]?.string ?? ""
        _ = try json.event("chat:new")

        // Every byte value, twice, so that no text encoding could carry it unchanged.
        let bytes = (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let attachment: E2EJSON = .object([("name", .string("dados.bin")), ("mime", .string("application/octet-stream")),
                                           ("data", .string(Data(bytes).base64EncodedString()))])
        let sent = assertOK(try cbor.request("message", [("chat_id", .string(chatID)), ("content", .string("segue")),
                                                          ("attachment", attachment)]), "message")["message"]
        let meta = sent?["attachment"]
        XCTAssertEqual(meta?["size"]?.int, 512)
        XCTAssertEqual(meta?["name"]?.string, "dados.bin")
        let event = try json.event("message:new") { $0["payload"]?["id"] == sent?["id"] }
        XCTAssertEqual(event["payload"], sent, "the JSON member sees the message the CBOR sender stored")

        let id = meta?["id"]?.string ?? ""
        for c in [cbor, json] {
            let got = assertOK(try c.request("get_attachment", [("chat_id", .string(chatID)), ("attachment_id", .string(id))]),
                               "get_attachment")
            let data = got["data"]?.string.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }
            XCTAssertTrue(data == bytes, "\(c.label): \(data?.count ?? -1) bytes, not the 512 sent")
        }
        // On the CBOR wire the bytes travel as they are (a byte string), not as base64 text.
        let raw = (cbor.transport as? E2ECBORClient)?.binaryMessages.last ?? []
        XCTAssertTrue(raw.count > bytes.count && (0...(raw.count - bytes.count)).contains { Array(raw[$0..<($0 + bytes.count)]) == bytes },
                      "the get_attachment answer on the CBOR connection does not hold the raw bytes")
    }

    /// `from` sends `content`; each of `to` gets a `message:new` whose payload is the message
    /// of the sender's response. Returns that message.
    private func exchange(from: E2EChatClient, to: [E2EChatClient], chatID: String, content: String) throws -> E2EJSON {
        let message = try from.sendMessage(chatID, content)
        for c in to {
            let event = try c.event("message:new") { $0["payload"]?["id"] == message["id"] }
            XCTAssertEqual(event["payload"], message, "\(c.label)")
        }
        return message
    }
}
