// BenchClientTests: the client side of the opening handshake, request encoding helpers and source addresses.
import XCTest
@testable import TagarelaBench
import TagarelaWire

final class BenchClientTests: XCTestCase {
    private let key = "dGhlIHNhbXBsZSBub25jZQ=="   // RFC 6455 section 1.3

    func testAcceptsA101WithTheRightAcceptKey() {
        let expected = Array(WebSocketHandshake.acceptKey(for: key).utf8)
        XCTAssertEqual(String(decoding: expected, as: UTF8.self), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        let head = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nsec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n\r\n".utf8)
        XCTAssertEqual(BenchClient.headEnd(head), head.count)
        XCTAssertTrue(BenchClient.isSwitchingProtocols(head[...], expectedAccept: expected))
    }

    func testRefusesAWrongKeyOrStatus() {
        let expected = Array(WebSocketHandshake.acceptKey(for: key).utf8)
        let wrongKey = Array("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: AAAA\r\n\r\n".utf8)
        XCTAssertFalse(BenchClient.isSwitchingProtocols(wrongKey[...], expectedAccept: expected))
        let refused = Array("HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".utf8)
        XCTAssertFalse(BenchClient.isSwitchingProtocols(refused[...], expectedAccept: expected))
        let missing = Array("HTTP/1.1 101 Switching Protocols\r\n\r\n".utf8)
        XCTAssertFalse(BenchClient.isSwitchingProtocols(missing[...], expectedAccept: expected))
    }

    func testCompressionAcceptedOnlyWhenTheServerSaysSo() throws {
        let accepted = Array("HTTP/1.1 101 Switching Protocols\r\nsec-websocket-extensions: permessage-deflate; server_no_context_takeover\r\n\r\n".utf8)
        XCTAssertTrue(BenchCompression.accepted(accepted[...]))
        let plain = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".utf8)
        XCTAssertFalse(BenchCompression.accepted(plain[...]))
        // What the bench sends, the server's side reads back.
        let compression = try BenchCompression()
        let json = Array("{\"type\":\"message\",\"content\":\"hello hello hello hello\"}".utf8)
        let compressed = json.withUnsafeBytes { compression.compress($0) }
        var back: [UInt8] = []
        XCTAssertTrue(compressed.withUnsafeBytes { compression.inflate($0, bytesMax: 1000) { back = Array($0) } })
        XCTAssertEqual(back, json)
    }

    func testHeadEndNeedsTheBlankLine() {
        XCTAssertNil(BenchClient.headEnd(Array("HTTP/1.1 101 OK\r\n".utf8)))
        XCTAssertNil(BenchClient.headEnd([]))
        let withFrame = Array("HTTP/1.1 101 OK\r\n\r\n".utf8) + [0x81, 0x00]
        XCTAssertEqual(BenchClient.headEnd(withFrame), withFrame.count - 2)
    }

    func testDecimalDigits() {
        for v: Int64 in [0, 7, 10, 99, 100, 1_234_567_890_123, Int64.max] {
            var out: [UInt8] = [UInt8(ascii: "x")]
            LoadShard.appendDecimal(v, to: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), "x\(v)")
        }
    }

    func testSourceAddresses() {
        XCTAssertEqual(SourceAddress.dotted(SourceAddress.address(forIndex: 0, count: 4)), "127.0.0.1")
        XCTAssertEqual(SourceAddress.dotted(SourceAddress.address(forIndex: 5, count: 4)), "127.0.0.2")
        XCTAssertEqual(SourceAddress.dotted(SourceAddress.address(forIndex: 3, count: 4)), "127.0.0.4")
        var o = BenchOptions()
        XCTAssertEqual(o.sourceAddressCount(connections: 1000), 1)
        XCTAssertEqual(o.sourceAddressCount(connections: 19_000), 4)
        o.sourceIPs = 7
        XCTAssertEqual(o.sourceAddressCount(connections: 10), 7)
    }

    func testFastRandomFillsEveryByte() {
        var r = FastRandom(seed: 0)
        var bytes = [UInt8](repeating: 0, count: 19)
        r.fill(&bytes)
        XCTAssertGreaterThan(Set(bytes).count, 10)
        XCTAssertNotEqual(r.next32(), r.next32())
    }
}
