// CompressionE2ETests: permessage-deflate on a real instance (deploy/tagarela, real workers): a compressed register answered compressed, a message delivered compressed.
import TagarelaWire
import TagarelaZlib
import TestSupport
import XCTest

final class CompressionE2ETests: EndToEndTestCase {
    override class var workerCount: Int { 1 }

    /// A raw WebSocket that offers permessage-deflate, sends compressed frames and reads RSV1.
    private final class DeflateSocket {
        let socket: LoopbackClient
        let deflater: RawDeflater
        let inflater: RawInflater
        var buffered: [UInt8] = []

        init(port: Int, zlib: ZlibLibrary) throws {
            socket = try LoopbackClient(port: port)
            deflater = try RawDeflater(zlib: zlib)
            inflater = try RawInflater(zlib: zlib)
        }

        /// The 101's head.
        func upgrade() throws -> String {
            try socket.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                            + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
            var head: [UInt8] = []
            while !head.suffix(4).elementsEqual([13, 10, 13, 10]) { head += try socket.read(exactly: 1) }
            return String(decoding: head, as: UTF8.self)
        }

        func sendCompressed(_ json: String) throws {
            try socket.send(WebSocketFrameEncoder.encode(opcode: .text, payload: deflater.compress(Array(json.utf8)),
                                                         maskKey: WebSocketMaskKey(0x0A0B_0C0D), compressed: true))
        }

        /// The next data frame: whether RSV1 was set, and its payload inflated when it was.
        func receive() throws -> (compressed: Bool, json: String) {
            let header = try socket.read(exactly: 2)
            var length = Int(header[1] & 0x7F)
            if length == 126 { length = try socket.read(exactly: 2).reduce(0) { $0 << 8 | Int($1) } }
            if length == 127 { length = try socket.read(exactly: 8).reduce(0) { $0 << 8 | Int($1) } }
            let payload = try socket.read(exactly: length)
            guard header[0] & 0x40 != 0 else { return (false, String(decoding: payload, as: UTF8.self)) }
            var text = ""
            let outcome = payload.withUnsafeBytes {
                inflater.inflateMessage($0, bytesMax: 1 << 20) { text = String(decoding: $0, as: UTF8.self) }
            }
            XCTAssertEqual(outcome, .inflated)
            return (true, text)
        }
    }

    func testCompressedRequestsRepliesAndEvents() throws {
        let zlib = try ZlibLibrary()
        let ana = try DeflateSocket(port: port, zlib: zlib), bia = try DeflateSocket(port: port, zlib: zlib)
        for socket in [ana, bia] {
            XCTAssertTrue(try socket.upgrade().contains("\r\nSec-WebSocket-Extensions: permessage-deflate; "
                                                        + "server_no_context_takeover; client_no_context_takeover\r\n"))
        }
        let names = ["zana\(UInt32.random(in: 0...999_999))", "zbia\(UInt32.random(in: 0...999_999))"]
        for (socket, name) in zip([ana, bia], names) {
            try socket.sendCompressed("{\"type\":\"register\",\"request_id\":\"r\",\"username\":\"\(name)\",\"password\":\"correct horse battery\"}")
            let reply = try socket.receive()
            XCTAssertTrue(reply.compressed, "a reply over 64 bytes goes compressed")
            XCTAssertTrue(reply.json.contains("\"status\":\"ok\""), reply.json)
            try socket.sendCompressed("{\"type\":\"login\",\"request_id\":\"l\",\"username\":\"\(name)\",\"password\":\"correct horse battery\"}")
            XCTAssertTrue(try socket.receive().json.contains("\"status\":\"ok\""))
        }
        try ana.sendCompressed("{\"type\":\"create_chat\",\"request_id\":\"c\",\"user_id\":\"\(names[1])\"}")
        let chat = try ana.receive().json
        XCTAssertTrue(chat.contains("\"status\":\"ok\""), chat)
        let chatID = try XCTUnwrap(chat.range(of: "\"id\":\"d:").map { chat[$0.upperBound...].prefix { $0 != "\"" } }).description
        let content = String(repeating: "compressed chat ", count: 10)
        try ana.sendCompressed("{\"type\":\"message\",\"request_id\":\"m\",\"chat_id\":\"d:\(chatID)\",\"content\":\"\(content)\"}")
        XCTAssertTrue(try ana.receive().json.contains("\"request_id\":\"m\""))
        var event = try bia.receive()
        while !event.json.contains("message:new") { event = try bia.receive() }
        XCTAssertTrue(event.compressed)
        XCTAssertTrue(event.json.contains(content))
    }
}
