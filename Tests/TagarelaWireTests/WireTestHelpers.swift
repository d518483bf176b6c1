// WireTestHelpers: builders and drivers shared by the wire tests (arbitrary frames, recorded actions, splits).

import TagarelaWire
import TestSupport
import XCTest

/// A `WebSocketAction` copied out of the emit call so it can be compared.
enum Recorded: Equatable, CustomStringConvertible {
    case text([UInt8])
    case binary([UInt8])
    case send([UInt8])
    case close

    var description: String {
        switch self {
        case .text(let b): return "text(\(b.count): \(String(decoding: b.prefix(40), as: UTF8.self)))"
        case .binary(let b): return "binary(\(b.count))"
        case .send(let b): return "send(\(b.prefix(16).map { String($0, radix: 16) }.joined(separator: " "))\(b.count > 16 ? "..." : ""))"
        case .close: return "close"
        }
    }
}

/// A frame with any header bits, built by hand (independently of the encoder under test).
func rawFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0,
              mask: UInt32? = WireVectors.exampleMaskKey) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    let maskBit: UInt8 = mask == nil ? 0 : 0x80
    if payload.count < 126 {
        out.append(maskBit | UInt8(payload.count))
    } else if payload.count < 65536 {
        out += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        out.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(payload.count) >> UInt64(shift)) & 0xFF)) }
    }
    guard let key = mask else { return out + payload }
    let keyBytes = [UInt8(key >> 24), UInt8((key >> 16) & 0xFF), UInt8((key >> 8) & 0xFF), UInt8(key & 0xFF)]
    out += keyBytes
    for (i, byte) in payload.enumerated() { out.append(byte ^ keyBytes[i % 4]) }
    return out
}

/// A masked client text frame.
func clientText(_ text: String, fin: Bool = true) -> [UInt8] { rawFrame(opcode: 1, payload: Array(text.utf8), fin: fin) }

/// The exact bytes of a server close frame, built by hand.
func expectedClose(_ code: UInt16, _ reason: String = "") -> [UInt8] {
    let body = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
    return [0x88, UInt8(body.count)] + body
}

/// The exact actions for a connection failed with `error`.
func failed(_ error: WebSocketError) -> [Recorded] {
    [.send(expectedClose(error.closeCode.rawValue, error.reason)), .close]
}

/// Feeds `chunks` (copied: the connection unmasks in place) and records every action.
func drive(_ connection: inout WebSocketConnection, _ chunks: [[UInt8]],
           inflater: (any WebSocketMessageInflater)? = nil) -> [Recorded] {
    var recorded: [Recorded] = []
    for chunk in chunks {
        var copy = chunk
        copy.withUnsafeMutableBytes { buffer in
            connection.receive(buffer, inflater: inflater) { action in
                switch action {
                case .message(.text, let payload): recorded.append(.text(Array(payload)))
                case .message(.binary, let payload): recorded.append(.binary(Array(payload)))
                case .send(let bytes): recorded.append(.send(bytes))
                case .close: recorded.append(.close)
                }
            }
        }
    }
    return recorded
}

/// Runs `input` through a fresh connection in the given chunks.
/// With `inflater`, permessage-deflate is negotiated and compressed messages inflate through it.
func runConnection(_ chunks: [[UInt8]], limits: Limits = .default,
                   inflater: (any WebSocketMessageInflater)? = nil) -> (actions: [Recorded], connection: WebSocketConnection) {
    var connection = WebSocketConnection(limits: limits, deflate: inflater != nil)
    let actions = drive(&connection, chunks, inflater: inflater)
    return (actions, connection)
}

/// Cuts `input` at every single offset, and also byte by byte.
func everySplit(_ input: [UInt8]) -> [[[UInt8]]] {
    var splits: [[[UInt8]]] = (0...input.count).map { [Array(input[..<$0]), Array(input[$0...])] }
    splits.append(input.map { [$0] })
    return splits
}

/// Asserts that `input` gives `expected` fed whole, at every split point and byte by byte, and
/// that nothing is left buffered afterwards.
func assertConnectionSplits(_ input: [UInt8], _ expected: [Recorded], limits: Limits = .default,
                            inflater: (any WebSocketMessageInflater)? = nil,
                            file: StaticString = #filePath, line: UInt = #line) {
    let whole = runConnection([input], limits: limits, inflater: inflater)
    XCTAssertEqual(whole.actions, expected, "whole input", file: file, line: line)
    for (n, chunks) in everySplit(input).enumerated() {
        let result = runConnection(chunks, limits: limits, inflater: inflater)
        if result.actions != expected {
            XCTFail("split #\(n) (\(chunks.map(\.count))): \(result.actions) != \(expected)", file: file, line: line)
            return
        }
        XCTAssertEqual(result.connection.bufferedBytes, 0, "buffer left after split #\(n)", file: file, line: line)
        if result.connection.state == .open {
            XCTAssertTrue(result.connection.isBetweenMessages, "partial frame left after split #\(n)", file: file, line: line)
        }
    }
}
