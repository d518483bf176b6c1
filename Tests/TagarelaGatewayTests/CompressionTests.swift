// CompressionTests: permessage-deflate through a real gateway: negotiation on /ws and the echo route, shared compressed fan-out, threshold, bomb, off and missing zlib.
import XCTest
import TagarelaWire
import TagarelaZlib
@testable import TagarelaGateway

final class CompressionTests: GatewayTestCase {
    private let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    private let answer = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    private var zlib: ZlibLibrary!

    override func setUpWithError() throws {
        zlib = try ZlibLibrary()
    }

    private func deflate(_ bytes: [UInt8]) throws -> [UInt8] { try RawDeflater(zlib: zlib).compress(bytes) }

    private func inflate(_ bytes: [UInt8]) throws -> [UInt8]? {
        var out: [UInt8]? = nil
        _ = bytes.withUnsafeBytes { try! RawInflater(zlib: zlib).inflateMessage($0, bytesMax: 1 << 20) { out = Array($0) } }
        return out
    }

    /// The next text message, inflated when it came compressed.
    private func readMessage(_ c: TestClient) throws -> String? {
        guard let frame = c.readRawFrame() else { return nil }
        let payload = frame.first & 0x40 != 0 ? try inflate(frame.payload) : frame.payload
        return payload.map { String(decoding: $0, as: UTF8.self) }
    }

    private func sendCompressed(_ c: TestClient, _ text: String) throws {
        c.send(WebSocketFrameEncoder.encode(opcode: .text, payload: try deflate(Array(text.utf8)),
                                            maskKey: WebSocketMaskKey(0x0102_0304), compressed: true))
    }

    func testEchoRouteNegotiatesInflatesAndCompresses() throws {
        let h = try start(workers: 0, configure: { $0.echoPath = "/echo" })
        let c = try h.client()
        let head = c.upgrade(path: "/echo", extraHeaders: offer) ?? ""
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101"))
        XCTAssertTrue(head.contains(answer), head)
        let long = String(repeating: "{\"type\":\"message\",\"content\":\"tagarela\"}", count: 10)
        try sendCompressed(c, long)
        let echoed = try XCTUnwrap(c.readRawFrame())
        XCTAssertEqual(echoed.first, 0xC1, "FIN + RSV1 + text")
        XCTAssertLessThan(echoed.payload.count, long.utf8.count)
        XCTAssertEqual(try inflate(echoed.payload), Array(long.utf8))
        // Under the threshold (64 bytes): back uncompressed, RSV1 clear, whichever way it came.
        try sendCompressed(c, "short")
        XCTAssertEqual(c.readRawFrame()?.first, 0x81)
        c.sendText("short too")
        let plain = c.readRawFrame()
        XCTAssertEqual(plain?.first, 0x81)
        XCTAssertEqual(plain?.payload, Array("short too".utf8))
        // Control frames are never compressed.
        c.sendFrame(.ping, [1, 2])
        XCTAssertEqual(c.readRawFrame()?.first, 0x8A)
        let metrics = metricsText(h)
        XCTAssertTrue(metrics.contains("tagarela_compression_enabled 1"))
        XCTAssertTrue(metrics.contains("tagarela_compressed_messages_total{direction=\"in\"} 2"), metrics)
        XCTAssertTrue(metrics.contains("tagarela_compressed_messages_total{direction=\"out\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("tagarela_compression_bytes_total{direction=\"in\",form=\"uncompressed\"} \(long.utf8.count + 5)"),
                      metrics)
        XCTAssertTrue(metrics.contains("tagarela_compression_bytes_total{direction=\"out\",form=\"compressed\"} \(echoed.payload.count + 2)"),
                      metrics)
    }

    /// One event to two compressing receivers and one plain one on the same loop: compressed
    /// once, the same bytes to both, and the plain receiver gets the plain frame.
    func testFanOutCompressesOncePerLoop() throws {
        let h = try start(workers: 1)
        let sender = try h.client(), bob1 = try h.client(), bob2 = try h.client(), bobPlain = try h.client()
        XCTAssertNotNil(sender.upgrade())
        XCTAssertTrue(bob1.upgrade(extraHeaders: offer)?.contains(answer) ?? false)
        XCTAssertTrue(bob2.upgrade(extraHeaders: offer)?.contains(answer) ?? false)
        XCTAssertFalse(bobPlain.upgrade()?.contains("Sec-WebSocket-Extensions") ?? true)
        for (i, (client, user)) in [(sender, "alice"), (bob1, "bob"), (bob2, "bob"), (bobPlain, "bob")].enumerated() {
            client.sendText("{\"type\":\"login\",\"request_id\":\"\(i)\",\"username\":\"\(user)\",\"password\":\"p\(i)\"}")
            XCTAssertEqual(json(try readMessage(client))?["status"]?.string, "ok")
        }
        let before = onLoop(h) { $0.compression?.counts ?? DeflateCounters() }
        let content = String(repeating: "lunch at noon? ", count: 8)
        sender.sendText("{\"type\":\"message\",\"request_id\":\"m\",\"chat_id\":\"d:alice:bob\",\"content\":\"\(content)\"}")
        XCTAssertEqual(json(sender.readText())?["request_id"]?.string, "m")
        let one = try XCTUnwrap(bob1.readRawFrame()), two = try XCTUnwrap(bob2.readRawFrame())
        let plain = try XCTUnwrap(bobPlain.readRawFrame())
        XCTAssertEqual(one.first, 0xC1)
        XCTAssertEqual(one.payload, two.payload)
        XCTAssertEqual(plain.first, 0x81)
        XCTAssertEqual(try inflate(one.payload), plain.payload)
        XCTAssertEqual(json(String(decoding: plain.payload, as: UTF8.self))?["payload"]?["content"]?.string, content)
        let after = onLoop(h) { $0.compression?.counts ?? DeflateCounters() }
        XCTAssertEqual(after.compressions - before.compressions, 1, "one deflate for the event, shared")
        XCTAssertEqual(after.messagesOut - before.messagesOut, 2)
        // A compressed request is read like a plain one.
        try sendCompressed(bob1, "{\"type\":\"message\",\"request_id\":\"z\",\"chat_id\":\"d:alice:bob\",\"content\":\"\(content)\"}")
        let reply = try XCTUnwrap(bob1.readRawFrame())
        XCTAssertEqual(reply.first, 0xC1, "a reply over the threshold is compressed too")
        let replyJSON = try XCTUnwrap(try inflate(reply.payload))
        XCTAssertEqual(json(String(decoding: replyJSON, as: UTF8.self))?["request_id"]?.string, "z")
    }

    func testThresholdSettingAndSmallWindow() throws {
        let h = try start(workers: 0, configure: { $0.echoPath = "/echo"; $0.compressionThresholdBytes = 1000 })
        let c = try h.client()
        XCTAssertTrue(c.upgrade(path: "/echo", extraHeaders: offer)?.contains(answer) ?? false)
        let text = String(repeating: "a", count: 999)
        c.sendText(text)
        XCTAssertEqual(c.readRawFrame()?.first, 0x81)
        c.sendText(text + "a")
        XCTAssertEqual(c.readRawFrame()?.first, 0xC1)
        // A client that limits our window to 8 bits is answered 8 and gets window-9 output.
        let small = try h.client()
        let head = small.upgrade(path: "/echo", extraHeaders: "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n")
        XCTAssertTrue(head?.contains(answer + "; server_max_window_bits=8") ?? false, head ?? "")
        var variedBytes: [UInt8] = []
        for i in 0..<1200 { variedBytes.append(UInt8(97 + (i * 7 + i / 13) % 26)) }
        let varied = String(decoding: variedBytes, as: UTF8.self)
        small.sendText(varied)
        let frame = try XCTUnwrap(small.readRawFrame())
        XCTAssertEqual(frame.first, 0xC1)
        XCTAssertEqual(try inflate(frame.payload), Array(varied.utf8))
    }

    func testBombClosesWith1009() throws {
        let h = try start(workers: 0, configure: { $0.echoPath = "/echo" })
        let c = try h.client()
        XCTAssertNotNil(c.upgrade(path: "/echo", extraHeaders: offer))
        let bomb = try deflate([UInt8](repeating: 0x20, count: 16 << 20))
        c.send(WebSocketFrameEncoder.encode(opcode: .text, payload: bomb, maskKey: WebSocketMaskKey(7), compressed: true))
        let close = try XCTUnwrap(c.readRawFrame())
        XCTAssertEqual(close.first, 0x88)
        XCTAssertEqual(Array(close.payload.prefix(2)), [0x03, 0xF1], "1009")
        XCTAssertTrue(c.waitForClose())
    }

    func testOffOrWithoutZlibNothingIsNegotiated() throws {
        var lines: [String] = []
        let h = try start(workers: 0, configure: {
            $0.echoPath = "/echo"
            $0.zlibLibraryName = "libz-absent-for-test.so.9"
            $0.log = { lines.append($0) }
        })
        XCTAssertEqual(lines.filter { $0.contains("WebSocket compression off") && $0.contains("libz-absent-for-test.so.9")
                                        && $0.contains("running uncompressed") }.count, 1, "\(lines)")
        let c = try h.client()
        let head = c.upgrade(path: "/echo", extraHeaders: offer) ?? ""
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101"))
        XCTAssertFalse(head.contains("Sec-WebSocket-Extensions"))
        let text = String(repeating: "uncompressed ", count: 20)
        c.sendText(text)
        let echoed = c.readRawFrame()
        XCTAssertEqual(echoed?.first, 0x81)
        XCTAssertEqual(echoed?.payload, Array(text.utf8))
        // RSV1 without the extension is a protocol error (1002).
        try sendCompressed(c, text)
        XCTAssertEqual(c.readRawFrame().map { Array($0.payload.prefix(2)) }, [0x03, 0xEA])
        XCTAssertTrue(metricsText(h).contains("tagarela_compression_enabled 0"))
        h.stop()
        harness = nil

        lines = []
        let off = try start(workers: 0, configure: { $0.echoPath = "/echo"; $0.compression = false; $0.log = { lines.append($0) } })
        XCTAssertEqual(lines, [])
        let d = try off.client()
        XCTAssertFalse(d.upgrade(path: "/echo", extraHeaders: offer)?.contains("Sec-WebSocket-Extensions") ?? true)
    }
}
