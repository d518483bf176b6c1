// WireFuzzTests: seeded random bytes in random chunks through the frame decoder and the connection.

import TagarelaWire
import TestSupport
import XCTest

final class WireFuzzTests: XCTestCase {
    /// Random garbage must only ever produce errors, never a crash or an unbounded buffer.
    func testFrameDecoderOnRandomBytes() {
        var random = SeededRandom(seed: 0xF0_22)
        for _ in 0..<2000 {
            var decoder = WebSocketFrameDecoder()
            var failed = false
            for chunk in random.chunks(of: random.bytes(Int.random(in: 0...300, using: &random)), maxChunk: 40) where !failed {
                var copy = chunk
                copy.withUnsafeMutableBytes { buffer in
                    var index = 0
                    do {
                        while let event = try decoder.next(buffer, at: &index) {
                            if case .payload(let piece, _) = event { XCTAssertLessThanOrEqual(piece.count, buffer.count) }
                        }
                        XCTAssertEqual(index, buffer.count)
                    } catch {
                        failed = true
                    }
                }
            }
        }
    }

    /// Valid frames mixed with corrupted ones, cut at random: the actions match feeding the same
    /// bytes whole, and the buffers never exceed the message limit plus one control frame.
    func testConnectionOnMutatedConversations() {
        var random = SeededRandom(seed: 0xC0_FFEE)
        var limits = Limits()
        limits.webSocketMessageBytesMax = 256
        for _ in 0..<1500 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let opcode: UInt8 = [0, 1, 2, 8, 9, 0xA, 3].randomElement(using: &random)!
                let payload = opcode == 1 ? Array("héllo wörld".utf8).shuffled(using: &random) : random.bytes(Int.random(in: 0...150, using: &random))
                input += rawFrame(opcode: opcode, payload: payload, fin: Bool.random(using: &random),
                                  mask: UInt32.random(in: 0...UInt32.max, using: &random))
            }
            // Flip a few bytes so headers and lengths go wrong too.
            for _ in 0..<Int.random(in: 0...3, using: &random) where !input.isEmpty {
                input[Int.random(in: 0..<input.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
            let whole = runConnection([input], limits: limits).actions
            var connection = WebSocketConnection(limits: limits)
            var actions: [Recorded] = []
            for chunk in random.chunks(of: input, maxChunk: 64) {
                actions += drive(&connection, [chunk])
                XCTAssertLessThanOrEqual(connection.bufferedBytes, 256 + 256)
            }
            XCTAssertEqual(actions, whole)
            if let last = actions.last, last == .close { XCTAssertEqual(connection.state, .closed) }
        }
    }
}
