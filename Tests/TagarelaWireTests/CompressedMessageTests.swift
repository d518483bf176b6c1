// CompressedMessageTests: permessage-deflate messages through WebSocketConnection: RSV1 rules, splits, fragments, a bomb, bad data.

import TagarelaWire
import TagarelaZlib
import TestSupport
import XCTest

/// zlib's inflater seen as the connection sees it (the gateway's `LoopCompression` does the same).
final class ZlibMessageInflater: WebSocketMessageInflater {
    let inflater: RawInflater
    private(set) var calls = 0

    init() throws { inflater = try RawInflater(zlib: try ZlibLibrary()) }

    func inflateWebSocketMessage(_ compressed: UnsafeRawBufferPointer, bytesMax: Int,
                                 _ body: (UnsafeRawBufferPointer) -> Void) -> WebSocketInflateResult {
        calls += 1
        switch inflater.inflateMessage(compressed, bytesMax: bytesMax, body) {
        case .inflated: return .inflated
        case .tooBig: return .tooBig
        case .corrupt: return .corrupt
        }
    }
}

final class CompressedMessageTests: XCTestCase {
    private let hello = Array("Hello".utf8)
    /// RFC 7692 section 7.2.3.1: "Hello" compressed.
    private let helloDeflated: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
    private let pongHello: [UInt8] = [0x8A, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
    private var inflater: ZlibMessageInflater!
    private var deflater: RawDeflater!

    override func setUpWithError() throws {
        inflater = try ZlibMessageInflater()
        deflater = try RawDeflater(zlib: try ZlibLibrary())
    }

    /// RSV1 on a whole text frame, cut at every byte: one inflated message, nothing left held.
    func testCompressedMessageAtEverySplit() {
        assertConnectionSplits(rawFrame(opcode: 1, payload: helloDeflated, rsv: 4), [.text(hello)], inflater: inflater)
        // An empty message compresses to one zero byte (RFC 7692 section 7.2.3.6).
        assertConnectionSplits(rawFrame(opcode: 2, payload: [0x00], rsv: 4), [.binary([])], inflater: inflater)
        // Plain messages still pass on a connection that negotiated compression.
        assertConnectionSplits(clientText("Hello") + rawFrame(opcode: 1, payload: helloDeflated, rsv: 4),
                               [.text(hello), .text(hello)], inflater: inflater)
    }

    /// RFC 7692 section 7.2.3.1's fragmented form: RSV1 on the first frame only, a ping between.
    func testFragmentedCompressedMessageAtEverySplit() {
        let input = rawFrame(opcode: 1, payload: [0xF2, 0x48, 0xCD], fin: false, rsv: 4)
            + rawFrame(opcode: 9, payload: hello)
            + rawFrame(opcode: 0, payload: [0xC9, 0xC9, 0x07, 0x00])
        assertConnectionSplits(input, [.send(pongHello), .text(hello)], inflater: inflater)
    }

    /// Fragments of two connections interleave on one loop's inflater: neither leaves zlib state
    /// behind for the other, because each message is inflated whole at its last frame.
    func testInterleavedFragmentsShareOneInflater() {
        let long = Array(String(repeating: "chat message ", count: 300).utf8)
        let compressed = deflater.compress(long)
        let half = compressed.count / 2
        var a = WebSocketConnection(deflate: true)
        var b = WebSocketConnection(deflate: true)
        XCTAssertEqual(drive(&a, [rawFrame(opcode: 1, payload: Array(compressed[..<half]), fin: false, rsv: 4)],
                             inflater: inflater), [])
        XCTAssertGreaterThan(a.bufferedBytes, 0)
        XCTAssertEqual(drive(&b, [rawFrame(opcode: 1, payload: helloDeflated, rsv: 4)], inflater: inflater), [.text(hello)])
        XCTAssertEqual(drive(&a, [rawFrame(opcode: 0, payload: Array(compressed[half...]))], inflater: inflater),
                       [.text(long)])
        XCTAssertEqual(a.bufferedBytes, 0)
        XCTAssertEqual(inflater.calls, 2)
    }

    /// A compression bomb: 64 MiB of zeros in about 64 KiB. Inflation stops one byte past the
    /// message limit and the connection closes with 1009.
    func testBombClosesWith1009() {
        let bomb = deflater.compress([UInt8](repeating: 0, count: 64 << 20))
        let input = rawFrame(opcode: 2, payload: bomb, rsv: 4)
        let (actions, connection) = runConnection([input], inflater: inflater)
        XCTAssertEqual(actions, failed(.messageTooBig))
        XCTAssertEqual(connection.failure, .messageTooBig)
        XCTAssertEqual(connection.bufferedBytes, 0)
        // The limit itself passes, one byte more does not, split into fragments too.
        var limits = Limits()
        limits.webSocketMessageBytesMax = 1000
        let exact = deflater.compress([UInt8](repeating: 0x61, count: 1000))
        let over = deflater.compress([UInt8](repeating: 0x61, count: 1001))
        XCTAssertEqual(runConnection([rawFrame(opcode: 1, payload: exact, rsv: 4)], limits: limits, inflater: inflater).actions,
                       [.text([UInt8](repeating: 0x61, count: 1000))])
        let fragmented = rawFrame(opcode: 1, payload: Array(over.prefix(3)), fin: false, rsv: 4)
            + rawFrame(opcode: 0, payload: Array(over.dropFirst(3)))
        assertConnectionSplits(fragmented, failed(.messageTooBig), limits: limits, inflater: inflater)
    }

    func testCorruptDataAndBadTextClose() {
        assertConnectionSplits(rawFrame(opcode: 2, payload: [0xFF, 0xFF, 0xFF], rsv: 4), failed(.invalidCompressedData),
                               inflater: inflater)
        let notUTF8 = deflater.compress([0x61, 0xFF, 0x62])
        assertConnectionSplits(rawFrame(opcode: 1, payload: notUTF8, rsv: 4), failed(.invalidUTF8), inflater: inflater)
        // The same bytes are fine as binary.
        assertConnectionSplits(rawFrame(opcode: 2, payload: notUTF8, rsv: 4), [.binary([0x61, 0xFF, 0x62])],
                               inflater: inflater)
    }

    /// RFC 7692 section 6: RSV1 only on a data message's first frame; RSV2/3 stay reserved; and
    /// without the extension negotiated RSV1 is reserved too (RFC 6455 section 5.2).
    func testMisplacedRSV1IsAProtocolError() {
        let cases: [(String, [UInt8], WebSocketError)] = [
            ("RSV1 on a ping", rawFrame(opcode: 9, payload: hello, rsv: 4), .compressedBitMisplaced),
            ("RSV1 on a pong", rawFrame(opcode: 0xA, payload: [], rsv: 4), .compressedBitMisplaced),
            ("RSV1 on a close", rawFrame(opcode: 8, payload: [0x03, 0xE8], rsv: 4), .compressedBitMisplaced),
            ("RSV1 on a continuation", rawFrame(opcode: 1, payload: [0xF2, 0x48, 0xCD], fin: false, rsv: 4)
                + rawFrame(opcode: 0, payload: [0xC9, 0xC9, 0x07, 0x00], rsv: 4), .compressedBitMisplaced),
            ("RSV1 on a continuation of a plain message", clientText("Hel", fin: false)
                + rawFrame(opcode: 0, payload: helloDeflated, rsv: 4), .compressedBitMisplaced),
            ("RSV2 with deflate", rawFrame(opcode: 1, payload: hello, rsv: 2), .reservedBitsSet),
            ("RSV1 and RSV3", rawFrame(opcode: 1, payload: helloDeflated, rsv: 5), .reservedBitsSet),
        ]
        for (name, input, error) in cases {
            XCTAssertEqual(runConnection([input], inflater: inflater).actions, failed(error), name)
            assertConnectionSplits(input, failed(error), inflater: inflater)
        }
        XCTAssertEqual(WebSocketError.compressedBitMisplaced.closeCode, .protocolError)
        XCTAssertEqual(WebSocketError.invalidCompressedData.closeCode, .invalidPayloadData)
        // Not negotiated: RSV1 is just a reserved bit.
        XCTAssertEqual(runConnection([rawFrame(opcode: 1, payload: helloDeflated, rsv: 4)]).actions, failed(.reservedBitsSet))
    }

    /// Our compressed frames (the gateway's) carry RSV1 on a final frame and read back.
    func testEncoderSetsRSV1() {
        let frame = WebSocketFrameEncoder.encode(opcode: .text, payload: helloDeflated, compressed: true)
        XCTAssertEqual(frame, [0xC1, 0x07] + helloDeflated)
        var header = [UInt8](repeating: 0, count: 2)
        header.withUnsafeMutableBytes {
            _ = WebSocketFrameEncoder.writeHeader(opcode: .binary, payloadCount: 7, compressed: true, to: $0)
        }
        XCTAssertEqual(header, [0xC2, 0x07])
    }
}
