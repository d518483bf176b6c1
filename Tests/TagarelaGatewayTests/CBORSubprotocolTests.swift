// CBORSubprotocolTests: the `tagarela.cbor` WebSocket subprotocol on a real gateway with fake workers: the offer and its answer, CBOR both ways, the JSON the worker gets, 1003 on the wrong message kind, fan-out in every encoding, an event that does not transcode.
import XCTest
import TagarelaCBOR
import TagarelaJSON
import TagarelaLink
import TagarelaWire
@testable import TagarelaGateway

final class CBORSubprotocolTests: GatewayTestCase {
    /// The `Sec-WebSocket-Protocol` line of a 101, nil when there is none.
    private func answered(_ head: String?) -> String? {
        head?.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-protocol:") }
            .map { String($0.dropFirst("sec-websocket-protocol:".count)).trimmingCharacters(in: .whitespaces) }
    }

    private func cborClient(_ h: GatewayHarness) throws -> TestClient {
        let c = try h.client()
        let head = c.upgrade(extraHeaders: "Sec-WebSocket-Protocol: tagarela.cbor\r\n")
        XCTAssertEqual(answered(head), "tagarela.cbor")
        return c
    }

    /// A CBOR connection logged in as alice (the canned worker's event receiver).
    private func cborAlice(_ h: GatewayHarness, file: StaticString = #filePath, line: UInt = #line) throws -> TestClient {
        let c = try cborClient(h)
        sendCBOR(c, ["type": "login", "request_id": "l", "username": "alice", "password": "s"])
        XCTAssertEqual(readCBOR(c)?["status"]?.string, "ok", file: file, line: line)
        return c
    }

    private func sendCBOR(_ c: TestClient, _ value: JSON) {
        c.sendFrame(.binary, value.encodedCBOR(bytePaths: [["attachment", "data"]]))
    }

    /// The next frame, which must be a binary CBOR message, decoded.
    private func readCBOR(_ c: TestClient, file: StaticString = #filePath, line: UInt = #line) -> JSON? {
        guard let frame = c.readFrame() else {
            XCTFail("no frame", file: file, line: line)
            return nil
        }
        XCTAssertEqual(frame.opcode, 0x2, "a binary frame", file: file, line: line)
        return try? JSON.decodeCBOR(frame.payload, byteStrings: .base64Anywhere)
    }

    private func closeCode(_ c: TestClient) -> UInt16? {
        guard let frame = c.readFrame(), frame.opcode == 0x8, frame.payload.count >= 2 else { return nil }
        return UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1])
    }

    /// RFC 6455 section 4.2.2: the server answers with one name the client offered, or with no
    /// header at all; the client's order is its preference; names compare exactly.
    func testTheSubprotocolAnsweredForEachOffer() throws {
        let h = try start(workers: 0, configure: { $0.echoPath = "/echo" })
        let offers: [(String, String?)] = [
            ("", nil),
            ("Sec-WebSocket-Protocol: tagarela.cbor\r\n", "tagarela.cbor"),
            ("Sec-WebSocket-Protocol: tagarela.json\r\n", "tagarela.json"),
            ("Sec-WebSocket-Protocol: chat, tagarela.cbor\r\n", "tagarela.cbor"),
            ("Sec-WebSocket-Protocol: tagarela.json,tagarela.cbor\r\n", "tagarela.json"),
            ("Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol: tagarela.cbor\r\n", "tagarela.cbor"),
            ("Sec-WebSocket-Protocol: mqtt, soap\r\n", nil),
            ("Sec-WebSocket-Protocol: TAGARELA.CBOR\r\n", nil),
        ]
        for (headers, expected) in offers {
            let c = try h.client()
            let head = c.upgrade(extraHeaders: headers)
            XCTAssertTrue(head?.hasPrefix("HTTP/1.1 101") ?? false, headers)
            XCTAssertEqual(answered(head), expected, headers)
        }
        // The echo route speaks no protocol of ours.
        let echo = try h.client()
        XCTAssertNil(answered(echo.upgrade(path: "/echo", extraHeaders: "Sec-WebSocket-Protocol: tagarela.cbor\r\n")))
    }

    /// A CBOR request reaches the worker as the JSON a JSON client sends (attachment bytes as
    /// base64 text), and its answer comes back in CBOR on a binary frame.
    func testCBORRequestsReachTheWorkerAsJSONAndAnswersComeBackInCBOR() throws {
        let h = try start(workers: 1)
        let c = try cborClient(h)
        sendCBOR(c, ["type": "login", "request_id": "l1", "username": "alice", "password": "s"])
        let login = readCBOR(c)
        XCTAssertEqual(login?["status"]?.string, "ok")
        XCTAssertEqual(login?["request_id"]?.string, "l1")
        XCTAssertEqual(h.workers[0].requests.first.map { String(decoding: $0.json, as: UTF8.self) },
                       #"{"type":"login","request_id":"l1","username":"alice","password":"s"}"#)

        // The bytes 89 50 4E 47 00 FF, which the encoder sends as a CBOR byte string.
        sendCBOR(c, ["type": "message", "request_id": "m1", "chat_id": "c", "content": "olá",
                     "attachment": ["name": "a.png", "mime": "image/png", "data": "iVBORwD/"]])
        XCTAssertEqual(readCBOR(c)?["request_id"]?.string, "m1")
        XCTAssertEqual(h.workers[0].requests.last.map { String(decoding: $0.json, as: UTF8.self) },
                       #"{"type":"message","request_id":"m1","chat_id":"c","content":"olá","attachment":{"name":"a.png","mime":"image/png","data":"iVBORwD/"}}"#)
    }

    /// What does not decode is `bad_request` (type `error`), in CBOR; the connection stays.
    func testUndecodableCBORIsABadRequestAndTheConnectionStays() throws {
        let h = try start(workers: 0)
        let c = try cborClient(h)
        let bad: [[UInt8]] = [
            [0xFF],                                   // a lone break
            [0xA1, 0x61, 0x61],                       // cut short
            [0xA1, 0x01, 0x02],                       // an integer key
            [0xA1, 0x64, 0x64, 0x61, 0x74, 0x61, 0x41, 0x00],  // a byte string outside attachment.data
            Array(#"{"type":"login"}"#.utf8),         // JSON on a CBOR connection
        ]
        for (k, message) in bad.enumerated() {
            c.sendFrame(.binary, message)
            let reply = readCBOR(c)
            XCTAssertEqual(reply?["type"]?.string, "error", "\(k)")
            XCTAssertEqual(reply?["code"]?.string, "bad_request", "\(k)")
        }
        // A CBOR value that is not a map meets the JSON rule for a non-object.
        sendCBOR(c, [1, 2])
        XCTAssertEqual(readCBOR(c)?["code"]?.string, "bad_request")
        sendCBOR(c, ["type": "get_user_chats", "request_id": "g"])
        let answer = readCBOR(c)
        XCTAssertEqual(answer?["request_id"]?.string, "g")
        XCTAssertEqual(answer?["code"]?.string, "unauthenticated")
    }

    /// The subprotocol fixes the message kind: the other kind closes with 1003.
    func testTheWrongMessageKindClosesWith1003() throws {
        let h = try start(workers: 0)
        let cbor = try cborClient(h)
        cbor.sendText(#"{"type":"get_user_chats"}"#)
        XCTAssertEqual(closeCode(cbor), 1003)

        for offer in ["", "Sec-WebSocket-Protocol: tagarela.json\r\n"] {
            let json = try h.client()
            json.upgrade(extraHeaders: offer)
            json.sendFrame(.binary, Array(#"{"type":"get_user_chats"}"#.utf8))
            XCTAssertEqual(closeCode(json), 1003, offer)
        }
    }

    /// A CBOR message whose JSON form passes the message limit closes 1009, as that JSON
    /// message would: 40 control characters are 42 bytes of CBOR but 252 of JSON.
    func testTheJSONFormOfACBORMessageMeetsTheMessageLimit() throws {
        let h = try start(workers: 1, configure: { $0.limits.webSocketMessageBytesMax = 200 })
        let fits = try cborClient(h)
        sendCBOR(fits, ["type": "get_user_chats", "request_id": .string(String(repeating: "a", count: 64))])
        XCTAssertEqual(readCBOR(fits)?["code"]?.string, "unauthenticated")
        let grows = try cborClient(h)
        let controls = String(repeating: "\u{1}", count: 40)
        let value: JSON = ["type": "login", "username": .string(controls)]
        XCTAssertLessThan(value.encodedCBOR().count, 200)
        XCTAssertGreaterThan(value.encoded().count, 200)
        sendCBOR(grows, value)
        XCTAssertEqual(closeCode(grows), 1009)
        XCTAssertTrue(h.workers[0].requests.isEmpty, "nothing reached the worker")
    }

    /// The CBOR of answers: `get_attachment`'s `data` is a byte string; the same key in any
    /// other answer or event stays text.
    func testOnlyGetAttachmentDataBecomesAByteString() throws {
        let answer = Array(#"{"type":"get_attachment","request_id":"r","status":"ok","data":"AAEC/w=="}"#.utf8)
        let cbor = try XCTUnwrap(CBORProtocol.transcode(answer))
        XCTAssertThrowsError(try JSON.decodeCBOR(cbor), "a byte string is in there")
        let decoded = try JSON.decodeCBOR(cbor, byteStrings: .base64(at: [["data"]]))
        XCTAssertEqual(decoded, try JSON.parse(answer))
        XCTAssertEqual(Array(cbor.suffix(5)), [0x44, 0x00, 0x01, 0x02, 0xFF], "data as 4 bytes, not 8 of text")
        let event = Array(#"{"type":"message:new","payload":{"data":"AAEC/w=="},"data":"AAEC/w=="}"#.utf8)
        XCTAssertEqual(try JSON.decodeCBOR(XCTUnwrap(CBORProtocol.transcode(event))), try JSON.parse(event))
    }

    /// One event reaches CBOR, JSON WebSocket and NDJSON receivers with the same content; the
    /// CBOR receivers get the same bytes.
    func testFanOutReachesEveryEncodingWithTheSameContent() throws {
        let h = try start(workers: 1)
        let cbors = try (0..<2).map { _ in try cborAlice(h) }
        let ws = try h.client()
        XCTAssertNil(answered(ws.upgrade()))
        ws.sendText(loginLine("bob"))
        XCTAssertEqual(json(ws.readText())?["status"]?.string, "ok")
        let line = try loggedIn(h, "bob")
        let sender = try loggedIn(h, "carol")
        sender.send(#"{"type":"message","request_id":"m","chat_id":"c","content":"oi 😀"}"# + "\n")
        XCTAssertEqual(json(sender.readLine())?["status"]?.string, "ok")

        let text = ws.readText()
        let expected = try JSON.parse(XCTUnwrap(text))
        XCTAssertEqual(expected["payload"]?["content"]?.string, "oi 😀")
        XCTAssertEqual(json(line.readLine()), expected)
        let frames = cbors.map { $0.readFrame() }
        XCTAssertEqual(frames[0]?.opcode, 0x2)
        XCTAssertEqual(frames[0]?.payload, frames[1]?.payload)
        XCTAssertEqual(frames[0].flatMap { try? JSON.decodeCBOR($0.payload) }, expected)
    }

    /// An event that does not transcode (a worker's JSON that does not parse: a server bug) is
    /// tried once per loop and logged once, not once per CBOR receiver; later events still go.
    func testAnEventThatDoesNotTranscodeIsTriedOnce() throws {
        let lock = NSLock()
        var logged: [String] = []
        let h = try start(workers: 1, respond: { r in
            guard String(decoding: r.json, as: UTF8.self).contains("\"content\":\"broken\"") else {
                return GatewayHarness.standardReply(r)
            }
            return LinkReply(requestID: r.requestID, json: Canned.ok(r),
                             events: [LinkEvent(userIDs: ["alice"], excludeConnectionID: r.connectionID,
                                                json: Array(#"{"type":"message:new","payl"#.utf8))])
        }, configure: { $0.log = { line in lock.lock(); logged.append(line); lock.unlock() } })
        let cbors = try (0..<3).map { _ in try cborAlice(h) }
        let sender = try loggedIn(h, "carol")
        for content in ["broken", "fine"] {
            sender.send(#"{"type":"message","request_id":"m","chat_id":"c","content":"\#(content)"}"# + "\n")
            XCTAssertEqual(json(sender.readLine())?["status"]?.string, "ok")
        }
        // Each receiver's next frame is the second event: the first was sent to nobody.
        for c in cbors { XCTAssertEqual(readCBOR(c)?["payload"]?["content"]?.string, "fine") }
        lock.lock()
        defer { lock.unlock() }
        XCTAssertEqual(logged.filter { $0.contains("not JSON") }.count, 1, "\(logged)")
    }
}
