// NDJSONFramer: splits a raw TCP byte stream into newline-delimited JSON lines, bounded in length.

import Glibc

/// A line longer than the limit; the connection gets `too_large` and is closed (PROTOCOL.md 2.5).
public enum NDJSONFramerError: Error, Equatable, Sendable {
    case tooLong
}

/// Incremental line splitter for raw TCP clients (PROTOCOL.md 1: one JSON object per line,
/// `\n`, `\r\n` tolerated).
///
/// Lines are emitted without their `\n` and without a `\r` right before it; empty lines are
/// skipped. A line that arrives whole is emitted as a slice of the input; only a line split
/// across reads is copied, and that buffer is freed once the line is complete. The length limit
/// counts the bytes before the `\n` (a `\r` included), and is enforced before storing: a line
/// is refused as soon as it passes the limit, without buffering past it.
public struct NDJSONFramer: Sendable {
    private let lineBytesMax: Int
    /// The start of a line that spans reads.
    private var partial: [UInt8] = []
    private var failed = false

    /// A framer refusing lines longer than `limits.ndjsonLineBytesMax`.
    public init(limits: Limits = .default) {
        lineBytesMax = limits.ndjsonLineBytesMax
    }

    /// A framer refusing lines longer than `lineBytesMax`.
    public init(lineBytesMax: Int) {
        precondition(lineBytesMax > 0, "the line limit must be positive")
        self.lineBytesMax = lineBytesMax
    }

    /// Bytes kept from an unfinished line (for tests and memory accounting).
    public var bufferedCount: Int { partial.count }

    /// Heap bytes held for the unfinished line (its buffer's capacity; 0 between lines), for the
    /// gateway's bound on unfinished input across connections.
    public var bufferedBytes: Int { partial.capacity }

    /// Feeds bytes, calling `emit` with each complete non-empty line (valid only during the
    /// call). Throws `.tooLong` once a line passes the limit, after emitting the lines before it;
    /// the framer then stays failed and throws on every later call.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) throws(NDJSONFramerError) {
        guard !failed else { throw .tooLong }
        var lineStart = 0
        while lineStart < bytes.count {
            // A slice keeps the indices of `bytes`, so `newline` is an offset into `bytes`.
            guard let newline = Self.newline(in: bytes, from: lineStart) else {
                // No end of line in this read: keep the start, unless it is already too long.
                let rest = UnsafeRawBufferPointer(rebasing: bytes[lineStart...])
                guard partial.count + rest.count <= lineBytesMax else { return try fail() }
                partial.append(contentsOf: rest)
                return
            }
            let piece = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<newline])
            lineStart = newline + 1
            guard partial.count + piece.count <= lineBytesMax else { return try fail() }
            if partial.isEmpty {
                emitLine(piece, emit)
            } else {
                partial.append(contentsOf: piece)
                let line = partial
                partial = []
                line.withUnsafeBytes { emitLine($0, emit) }
            }
        }
    }

    /// `feed(_:_:)` over any contiguous bytes.
    public mutating func feed(_ bytes: [UInt8], _ emit: (UnsafeRawBufferPointer) -> Void) throws(NDJSONFramerError) {
        let outcome: Result<Void, NDJSONFramerError> = bytes.withUnsafeBytes { raw in
            do throws(NDJSONFramerError) {
                try feed(raw, emit)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }

    /// The offset of the first `\n` in `bytes` at or after `start`. `memchr`, not
    /// `firstIndex(of:)`: the generic search runs byte by byte through unspecialised code in
    /// debug and sanitizer builds, where reading 64 MiB of unfinished lines took many seconds.
    private static func newline(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = bytes.baseAddress, start < bytes.count else { return nil }
        guard let hit = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) else { return nil }
        return UnsafeRawPointer(hit) - base
    }

    private mutating func fail() throws(NDJSONFramerError) {
        failed = true
        partial = []
        throw .tooLong
    }

    /// Strips one trailing `\r` and skips the line when nothing is left.
    private func emitLine(_ line: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) {
        var count = line.count
        if count > 0 && line[count - 1] == UInt8(ascii: "\r") { count -= 1 }
        guard count > 0 else { return }
        emit(UnsafeRawBufferPointer(rebasing: line[0..<count]))
    }
}
