// WebSocketFrameCodecTests: RFC 6455 section 5.7 examples both ways, round trips and split decoding.

import TagarelaWire
import TestSupport
import XCTest

final class WebSocketFrameCodecTests: XCTestCase {
    /// A decoded frame with its payload gathered from all its chunks.
    private struct Decoded: Equatable {
        var header: WebSocketFrameHeader
        var payload: [UInt8]
    }

    private func decode(_ chunks: [[UInt8]]) throws -> (frames: [Decoded], decoder: WebSocketFrameDecoder) {
        var decoder = WebSocketFrameDecoder()
        var frames: [Decoded] = []
        var open = false
        for chunk in chunks {
            var copy = chunk
            try copy.withUnsafeMutableBytes { buffer in
                var index = 0
                while let event = try decoder.next(buffer, at: &index) {
                    switch event {
                    case .header(let header):
                        XCTAssertFalse(open, "a header inside a frame")
                        frames.append(Decoded(header: header, payload: []))
                        open = true
                    case .payload(let chunk, let frameEnd):
                        XCTAssertTrue(open, "payload outside a frame")
                        frames[frames.count - 1].payload += Array(chunk)
                        if frameEnd { open = false }
                    }
                }
                XCTAssertEqual(index, buffer.count, "every byte used")
            }
        }
        return (frames, decoder)
    }

    private let key = WebSocketMaskKey(WireVectors.exampleMaskKey)
    private let hello = Array("Hello".utf8)

    func testDecodesSection5_7Examples() throws {
        XCTAssertEqual(try decode([WireVectors.unmaskedHello]).frames,
                       [Decoded(header: WebSocketFrameHeader(fin: true, rsv: 0, opcodeBits: 1, maskKey: nil, payloadLength: 5), payload: hello)])
        XCTAssertEqual(try decode([WireVectors.maskedHello]).frames,
                       [Decoded(header: WebSocketFrameHeader(fin: true, rsv: 0, opcodeBits: 1, maskKey: key, payloadLength: 5), payload: hello)])
        let fragments = try decode([WireVectors.fragmentedHel + WireVectors.fragmentedLo]).frames
        XCTAssertEqual(fragments.map(\.header.fin), [false, true])
        XCTAssertEqual(fragments.map(\.header.opcode), [.text, .continuation])
        XCTAssertEqual(fragments.flatMap(\.payload), hello)
        XCTAssertEqual(try decode([WireVectors.unmaskedPingHello]).frames.first?.header.opcode, .ping)
        let pong = try decode([WireVectors.maskedPongHello]).frames
        XCTAssertEqual(pong.first?.header.opcode, .pong)
        XCTAssertEqual(pong.first?.payload, hello)
        let payload256 = (0..<256).map { UInt8($0 & 0xFF) }
        XCTAssertEqual(try decode([WireVectors.binary256Header + payload256]).frames,
                       [Decoded(header: WebSocketFrameHeader(fin: true, rsv: 0, opcodeBits: 2, maskKey: nil, payloadLength: 256), payload: payload256)])
        let payload64K = (0..<65536).map { UInt8(($0 * 7) & 0xFF) }
        XCTAssertEqual(try decode([WireVectors.binary64KiBHeader + payload64K]).frames.first?.payload, payload64K)
    }

    func testEncodesSection5_7Examples() {
        XCTAssertEqual(WebSocketFrameEncoder.encode(opcode: .text, payload: hello), WireVectors.unmaskedHello)
        XCTAssertEqual(WebSocketFrameEncoder.encode(opcode: .text, payload: hello, maskKey: key), WireVectors.maskedHello)
        XCTAssertEqual(WebSocketFrameEncoder.encode(opcode: .text, payload: Array("Hel".utf8), fin: false), WireVectors.fragmentedHel)
        XCTAssertEqual(WebSocketFrameEncoder.encode(opcode: .continuation, payload: Array("lo".utf8)), WireVectors.fragmentedLo)
        XCTAssertEqual(WebSocketFrameEncoder.encode(opcode: .ping, payload: hello), WireVectors.unmaskedPingHello)
        XCTAssertEqual(WebSocketFrameEncoder.encode(opcode: .pong, payload: hello, maskKey: key), WireVectors.maskedPongHello)
        XCTAssertEqual(Array(WebSocketFrameEncoder.encode(opcode: .binary, payload: [UInt8](repeating: 0, count: 256)).prefix(4)),
                       WireVectors.binary256Header)
        XCTAssertEqual(Array(WebSocketFrameEncoder.encode(opcode: .binary, payload: [UInt8](repeating: 0, count: 65536)).prefix(10)),
                       WireVectors.binary64KiBHeader)
        XCTAssertEqual(WebSocketFrameEncoder.encodeClose(code: 1000, reason: "ok"), [0x88, 0x04, 0x03, 0xE8, 0x6F, 0x6B])
        XCTAssertEqual(WebSocketFrameEncoder.encodeClose(code: nil), [0x88, 0x00])
        var header: [UInt8] = []
        WebSocketFrameEncoder.encodeHeader(opcode: .text, payloadCount: 125, into: &header)
        XCTAssertEqual(header, [0x81, 125])
        XCTAssertEqual(WebSocketFrameEncoder.headerCount(payloadCount: 125, masked: false), 2)
        XCTAssertEqual(WebSocketFrameEncoder.headerCount(payloadCount: 126, masked: true), 8)
        XCTAssertEqual(WebSocketFrameEncoder.headerCount(payloadCount: 65536, masked: false), 10)
    }

    func testRoundTripsAtLengthEdges() throws {
        var random = SeededRandom(seed: 5_7)
        for count in [0, 1, 3, 4, 5, 7, 8, 9, 125, 126, 127, 65535, 65536, 70000] {
            let payload = random.bytes(count)
            for mask in [nil, WebSocketMaskKey(UInt32.random(in: 0...UInt32.max, using: &random))] {
                for opcode in [WebSocketOpcode.text, .binary, .continuation, .ping] where !(opcode == .ping && count > 125) {
                    let frame = WebSocketFrameEncoder.encode(opcode: opcode, payload: payload, fin: opcode != .continuation, maskKey: mask)
                    XCTAssertEqual(frame.count, WebSocketFrameEncoder.headerCount(payloadCount: count, masked: mask != nil) + count)
                    let decoded = try decode([frame]).frames
                    XCTAssertEqual(decoded, [Decoded(header: WebSocketFrameHeader(fin: opcode != .continuation, rsv: 0, opcodeBits: opcode.rawValue,
                                                                                  maskKey: mask, payloadLength: UInt64(count)), payload: payload)])
                }
            }
        }
    }

    func testEverySplitGivesTheSameFramesAndEndsOnABoundary() throws {
        var random = SeededRandom(seed: 99)
        var input: [UInt8] = WireVectors.maskedHello + WireVectors.fragmentedHel + WireVectors.maskedPongHello + WireVectors.fragmentedLo
        input += WebSocketFrameEncoder.encode(opcode: .binary, payload: random.bytes(300), maskKey: key)
        input += WebSocketFrameEncoder.encode(opcode: .text, payload: [UInt8](), maskKey: key)
        input += WebSocketFrameEncoder.encode(opcode: .binary, payload: random.bytes(131))
        let expected = try decode([input]).frames
        XCTAssertEqual(expected.count, 7)
        for chunks in everySplit(input) {
            let (frames, decoder) = try decode(chunks)
            XCTAssertEqual(frames, expected, "split \(chunks.map(\.count))")
            XCTAssertTrue(decoder.isAtFrameBoundary)
        }
    }

    func testLengthWithMostSignificantBitSetIsRefusedAtItsFirstByte() {
        var bytes: [UInt8] = [0x82, 0xFF, 0x80]
        bytes.withUnsafeMutableBytes { buffer in
            var decoder = WebSocketFrameDecoder()
            var index = 0
            do {
                _ = try decoder.next(buffer, at: &index)
                XCTFail("accepted a length with its top bit set")
            } catch {
                XCTAssertEqual(error as? WebSocketError, .lengthMostSignificantBitSet)
            }
            XCTAssertEqual(index, 3, "refused before the rest of the length or any payload")
        }
        // The largest legal length decodes as a header (the caller refuses it by size).
        var largest: [UInt8] = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        largest.withUnsafeMutableBytes { buffer in
            var decoder = WebSocketFrameDecoder()
            var index = 0
            guard case .header(let header)? = try? decoder.next(buffer, at: &index) else { return XCTFail("no header") }
            XCTAssertEqual(header.payloadLength, UInt64(Int64.max))
        }
    }

    func testMaskApplyMatchesBytewiseAtEveryOffset() {
        var random = SeededRandom(seed: 3)
        let key = WebSocketMaskKey(bytes: 0xDE, 0xAD, 0xBE, 0xEF)
        for count in 0..<40 {
            for offset in 0..<4 {
                let original = random.bytes(count)
                var masked = original
                let next = masked.withUnsafeMutableBytes { key.apply(to: $0, offset: offset) }
                XCTAssertEqual(next, (offset + count) % 4)
                XCTAssertEqual(masked, original.enumerated().map { $0.element ^ key[($0.offset + offset) % 4] })
            }
        }
    }
}
