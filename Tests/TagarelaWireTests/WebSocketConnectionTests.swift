// WebSocketConnectionTests: the RFC 6455 state machine: messages, control frames, every violation's exact close bytes, splits.

import TagarelaWire
import TestSupport
import XCTest

final class WebSocketConnectionTests: XCTestCase {
    private let hello = Array("Hello".utf8)
    private let pongHello: [UInt8] = [0x8A, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]

    private func small(_ messageBytesMax: Int) -> Limits {
        var limits = Limits()
        limits.webSocketMessageBytesMax = messageBytesMax
        return limits
    }

    // MARK: messages

    func testMaskedHelloIsOneTextMessage() {
        assertConnectionSplits(WireVectors.maskedHello, [.text(hello)])
    }

    func testFragmentedMessageWithInterleavedPing() {
        let input = clientText("Hel", fin: false) + rawFrame(opcode: 9, payload: hello) + rawFrame(opcode: 0, payload: Array("lo".utf8))
        assertConnectionSplits(input, [.send(pongHello), .text(hello)])
    }

    func testManyFramesInOneRead() {
        let input = clientText("a") + rawFrame(opcode: 2, payload: [0xFF, 0x00]) + rawFrame(opcode: 0xA, payload: [])
            + clientText("", fin: false) + rawFrame(opcode: 0, payload: [], fin: false) + rawFrame(opcode: 0, payload: Array("z".utf8))
        assertConnectionSplits(input, [.text(Array("a".utf8)), .binary([0xFF, 0x00]), .text(Array("z".utf8))])
    }

    func testUTF8SplitAcrossFragmentsIsValid() {
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        let input = rawFrame(opcode: 1, payload: [euro[0]], fin: false) + rawFrame(opcode: 0, payload: [euro[1]], fin: false)
            + rawFrame(opcode: 0, payload: [euro[2]])
        assertConnectionSplits(input, [.text(euro)])
    }

    func testBinaryMayHoldAnyBytes() {
        assertConnectionSplits(rawFrame(opcode: 2, payload: [0xFF, 0xFE, 0xC0]), [.binary([0xFF, 0xFE, 0xC0])])
    }

    func testSection5_7LengthsAsClientFrames() {
        var random = SeededRandom(seed: 256)
        for count in [256, 65536] {
            let payload = random.bytes(count)
            XCTAssertEqual(runConnection([rawFrame(opcode: 2, payload: payload)]).actions, [.binary(payload)])
        }
    }

    func testMessageAtTheLimitPassesAndOneMoreByteIs1009BeforeBuffering() {
        let limits = small(100)
        assertConnectionSplits(rawFrame(opcode: 2, payload: [UInt8](repeating: 7, count: 100)),
                               [.binary([UInt8](repeating: 7, count: 100))], limits: limits)
        // Only the header of the oversized frame is sent: it is refused from the length alone.
        let header = Array(rawFrame(opcode: 2, payload: [UInt8](repeating: 7, count: 101)).prefix(8))
        assertConnectionSplits(header, failed(.messageTooBig), limits: limits)
        // Fragments count together.
        let fragments = rawFrame(opcode: 1, payload: [UInt8](repeating: 0x61, count: 60), fin: false)
            + Array(rawFrame(opcode: 0, payload: [UInt8](repeating: 0x61, count: 41)).prefix(6))
        assertConnectionSplits(fragments, failed(.messageTooBig), limits: limits)
        XCTAssertEqual(failed(.messageTooBig).first, .send([0x88, 0x11, 0x03, 0xF1] + Array("message too big".utf8)))
    }

    func testDefaultLimitIsOneMebibyte() {
        let header: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0, 0x10, 0x00, 0x01, 1, 2, 3, 4]
        XCTAssertEqual(runConnection([header]).actions, failed(.messageTooBig))
        let largest: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00, 1, 2, 3, 4]
        let (actions, connection) = runConnection([largest])
        XCTAssertEqual(actions, [])
        XCTAssertEqual(connection.state, .open)
    }

    // MARK: control frames

    func testPingIsAnsweredWithTheSamePayload() {
        assertConnectionSplits(rawFrame(opcode: 9, payload: hello), [.send(pongHello)])
        let full = [UInt8](repeating: 0x42, count: 125)
        assertConnectionSplits(rawFrame(opcode: 9, payload: full), [.send([0x8A, 125] + full)])
        assertConnectionSplits(rawFrame(opcode: 9, payload: []), [.send([0x8A, 0x00])])
    }

    func testPongClearsAwaitingPong() {
        var connection = WebSocketConnection()
        XCTAssertEqual(connection.pingFrame(), [0x89, 0x00])
        XCTAssertTrue(connection.awaitingPong)
        XCTAssertEqual(drive(&connection, [WireVectors.maskedPongHello]), [])
        XCTAssertFalse(connection.awaitingPong)
        XCTAssertEqual(connection.pingFrame(payload: [1, 2]), [0x89, 0x02, 1, 2])
    }

    // MARK: violations, each with its exact close frame

    func testFrameViolationsCloseWithExactBytes() {
        let cases: [(String, [UInt8], WebSocketError)] = [
            ("unmasked", WireVectors.unmaskedHello, .unmaskedFrame),
            ("RSV1", rawFrame(opcode: 1, payload: hello, rsv: 4), .reservedBitsSet),
            ("RSV2", rawFrame(opcode: 1, payload: hello, rsv: 2), .reservedBitsSet),
            ("RSV3 on a ping", rawFrame(opcode: 9, payload: [], rsv: 1), .reservedBitsSet),
            ("opcode 3", rawFrame(opcode: 3, payload: []), .unknownOpcode),
            ("opcode 7", rawFrame(opcode: 7, payload: []), .unknownOpcode),
            ("opcode 11", rawFrame(opcode: 0xB, payload: []), .unknownOpcode),
            ("opcode 15", rawFrame(opcode: 0xF, payload: hello), .unknownOpcode),
            ("long ping", rawFrame(opcode: 9, payload: [UInt8](repeating: 0, count: 126)), .controlFrameTooLong),
            ("long close", rawFrame(opcode: 8, payload: [3, 0xE8] + [UInt8](repeating: 0x61, count: 124)), .controlFrameTooLong),
            ("fragmented ping", rawFrame(opcode: 9, payload: hello, fin: false), .fragmentedControlFrame),
            ("fragmented close", rawFrame(opcode: 8, payload: [3, 0xE8], fin: false), .fragmentedControlFrame),
            ("lone continuation", rawFrame(opcode: 0, payload: hello), .unexpectedContinuation),
            ("text during text", clientText("a", fin: false) + clientText("b"), .expectedContinuation),
            ("binary during text", clientText("a", fin: false) + rawFrame(opcode: 2, payload: []), .expectedContinuation),
            ("64-bit length with MSB", [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0], .lengthMostSignificantBitSet),
            ("invalid UTF-8", rawFrame(opcode: 1, payload: [0x61, 0xFF]), .invalidUTF8),
            ("surrogate", rawFrame(opcode: 1, payload: [0xED, 0xA0, 0x80]), .invalidUTF8),
            ("truncated at FIN", rawFrame(opcode: 1, payload: [0x61, 0xE2, 0x82]), .invalidUTF8),
            ("truncated at final fragment", rawFrame(opcode: 1, payload: [0xE2], fin: false) + rawFrame(opcode: 0, payload: [0x82]), .invalidUTF8),
            ("one-byte close", rawFrame(opcode: 8, payload: [0x03]), .closePayloadTooShort),
            ("close reason not UTF-8", rawFrame(opcode: 8, payload: [0x03, 0xE8, 0xFF]), .invalidCloseReason),
        ]
        for (name, input, error) in cases {
            let expected = failed(error)
            let (actions, connection) = runConnection([input])
            XCTAssertEqual(actions, expected, name)
            XCTAssertEqual(connection.failure, error, name)
            XCTAssertEqual(connection.state, .closed, name)
            assertConnectionSplits(input, expected)
        }
        // Spot-check the encoding of the expected bytes themselves.
        XCTAssertEqual(failed(.unknownOpcode).first, .send([0x88, 0x10, 0x03, 0xEA] + Array("unknown opcode".utf8)))
        XCTAssertEqual(failed(.invalidUTF8).first?.description.hasPrefix("send(88 1f 3 ef"), true)
    }

    func testInvalidUTF8FailsFastBeforeTheRestArrives() {
        // Autobahn 6.4.x: the bad byte arrives, the frame's remainder has not; close at once.
        let first = rawFrame(opcode: 1, payload: [0xCE, 0xBA, 0xE1, 0xBD], fin: false)
        let second = rawFrame(opcode: 0, payload: [0xB9, 0xCF, 0x83, 0xED, 0xA0, 0x80, 0x61, 0x62], fin: true)
        let badByteEnd = 6 + 5  // header (2) + mask (4) + payload up to and including 0xA0
        var connection = WebSocketConnection()
        XCTAssertEqual(drive(&connection, [first]), [])
        XCTAssertEqual(drive(&connection, [Array(second[..<(badByteEnd - 1)])]), [])
        XCTAssertEqual(drive(&connection, [Array(second[(badByteEnd - 1)..<badByteEnd])]), failed(.invalidUTF8))
        XCTAssertEqual(drive(&connection, [Array(second[badByteEnd...])]), [], "nothing after close")
    }

    // MARK: the closing handshake

    func testCloseCodesEchoedOrRefused() {
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            let input = rawFrame(opcode: 8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + Array("bye".utf8))
            let (actions, connection) = runConnection([input])
            XCTAssertEqual(actions, [.send(expectedClose(code)), .close], "code \(code)")
            XCTAssertEqual(connection.peerCloseCode, code)
            XCTAssertNil(connection.failure)
        }
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            let input = rawFrame(opcode: 8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)])
            XCTAssertEqual(runConnection([input]).actions, failed(.invalidCloseCode), "code \(code)")
        }
        XCTAssertEqual(failed(.invalidCloseCode).first, .send(expectedClose(1002, "invalid close code")))
    }

    func testEmptyCloseIsAnsweredWithAnEmptyClose() {
        assertConnectionSplits(rawFrame(opcode: 8, payload: []), [.send([0x88, 0x00]), .close])
    }

    func testCloseWithAValidReasonSplitAcrossReads() {
        let input = rawFrame(opcode: 8, payload: [0x03, 0xE8] + Array("normal κόσμε".utf8))
        assertConnectionSplits(input, [.send([0x88, 0x02, 0x03, 0xE8]), .close])
    }

    func testNothingIsEmittedAfterAReceivedClose() {
        let input = clientText("before") + rawFrame(opcode: 8, payload: [0x03, 0xE8]) + clientText("after")
            + rawFrame(opcode: 9, payload: [])
        assertConnectionSplits(input, [.text(Array("before".utf8)), .send(expectedClose(1000)), .close])
        var connection = WebSocketConnection()
        _ = drive(&connection, [input])
        XCTAssertEqual(drive(&connection, [clientText("later")]), [])
    }

    func testServerInitiatedClose() {
        var connection = WebSocketConnection()
        XCTAssertEqual(drive(&connection, [clientText("Hel", fin: false)]), [])
        XCTAssertEqual(connection.closeFrame(code: .goingAway), [0x88, 0x02, 0x03, 0xE9])
        XCTAssertEqual(connection.state, .closeSent)
        XCTAssertEqual(connection.bufferedBytes, 0)
        // Data and pings after our close are read and dropped; the peer's close ends it.
        let after = rawFrame(opcode: 0, payload: Array("lo".utf8)) + clientText("more") + rawFrame(opcode: 9, payload: hello)
        XCTAssertEqual(drive(&connection, [after]), [])
        XCTAssertEqual(drive(&connection, [rawFrame(opcode: 8, payload: [0x03, 0xE9])]), [.close])
        XCTAssertEqual(connection.state, .closed)
        XCTAssertEqual(connection.closeFrame(code: .policyViolation, reason: "rate"), [0x88, 0x06, 0x03, 0xF0] + Array("rate".utf8))
    }

    func testViolationAfterOurCloseOnlyCloses() {
        var connection = WebSocketConnection()
        _ = connection.closeFrame(code: .normalClosure)
        XCTAssertEqual(drive(&connection, [WireVectors.unmaskedHello]), [.close])
    }

    // MARK: memory

    func testNoBufferWhileFramesArriveWholeAndFreedAfterSplits() {
        var connection = WebSocketConnection()
        _ = drive(&connection, [clientText("whole") + rawFrame(opcode: 9, payload: hello)])
        XCTAssertEqual(connection.bufferedBytes, 0)
        let frame = clientText(String(repeating: "x", count: 1000))
        _ = drive(&connection, [Array(frame[..<500])])
        XCTAssertGreaterThan(connection.bufferedBytes, 0)
        XCTAssertFalse(connection.isBetweenMessages)
        XCTAssertEqual(drive(&connection, [Array(frame[500...])]), [.text(Array(String(repeating: "x", count: 1000).utf8))])
        XCTAssertEqual(connection.bufferedBytes, 0)
        XCTAssertTrue(connection.isBetweenMessages)
        XCTAssertLessThanOrEqual(MemoryLayout<WebSocketConnection>.size, 128, "inline state stays small")
    }

    /// A long mixed conversation at every split point.
    func testMixedConversationAtEverySplit() {
        var random = SeededRandom(seed: 6455)
        let bin = random.bytes(200)
        let input = clientText("first") + rawFrame(opcode: 2, payload: bin, fin: false) + rawFrame(opcode: 9, payload: [1, 2, 3])
            + rawFrame(opcode: 0, payload: [], fin: false) + rawFrame(opcode: 0xA, payload: [9]) + rawFrame(opcode: 0, payload: [7])
            + clientText("κόσμε") + rawFrame(opcode: 8, payload: [0x0F, 0xA0, 0x68, 0x69])
        assertConnectionSplits(input, [.text(Array("first".utf8)), .send([0x8A, 0x03, 1, 2, 3]), .binary(bin + [7]),
                                       .text(Array("κόσμε".utf8)), .send(expectedClose(4000)), .close])
    }
}
