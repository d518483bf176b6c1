// RawInflater: inflates one whole message at a time with a fresh context, never past a size limit.

/// The outcome of inflating one message.
public enum InflateOutcome: Equatable, Sendable {
    /// Inflated: the bytes were handed to the body.
    case inflated
    /// The output would pass `bytesMax`: stopped there (a compression bomb allocates no more).
    case tooBig
    /// Not valid raw DEFLATE (or it asks for a preset dictionary).
    case corrupt
}

/// A raw DEFLATE decompressor reset before every message (RFC 7692 7.2.2 with
/// `client_no_context_takeover`), so one per gateway loop serves all its connections: a
/// fragmented message is gathered whole (bounded by the message limit) and inflated at its last
/// frame, and no zlib state lives between a connection's fragments or messages.
///
/// About 44 KiB of zlib state at window 15 plus its output buffer, once per loop. The window is
/// always 15: a larger window than the peer's inflates its data the same. Confined to one thread.
public final class RawInflater {
    private let zlib: ZlibLibrary
    private let stream: UnsafeMutablePointer<ZStream>
    private var output: [UInt8] = []
    private let outputKeptBytesMax: Int

    /// Bytes of output buffer held between messages (at most `outputKeptBytesMax`).
    public var retainedBytes: Int { output.count }
    /// RFC 7692 7.2.2: the receiver appends the `00 00 ff ff` the sender removed.
    private static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    public init(zlib: ZlibLibrary, outputKeptBytesMax: Int = 64 * 1024) throws(ZlibUnavailable) {
        self.zlib = zlib
        self.outputKeptBytesMax = outputKeptBytesMax
        stream = try .openZlibStream(zlib, name: "inflateInit2_") {
            zlib.inflateInit2($0, -15, zlib.versionPointer, ZlibLibrary.streamSize)
        }
    }

    deinit {
        stream.close(zlib.inflateEnd)
    }

    /// Inflates `input` (one whole message) and hands `body` the result, valid only during the
    /// call. The output buffer grows by doubling up to `bytesMax + 1` bytes and no further: one
    /// byte past `bytesMax` is `.tooBig`, whatever the input would still expand to.
    public func inflateMessage(_ input: UnsafeRawBufferPointer, bytesMax: Int,
                               _ body: (UnsafeRawBufferPointer) -> Void) -> InflateOutcome {
        let status = zlib.inflateReset(stream.raw)
        precondition(status == Zlib.ok, "inflateReset failed: \(status)")
        defer {
            stream.forgetBuffers()
            if output.count > outputKeptBytesMax { output = [] }
        }
        let cap = bytesMax + 1
        var produced = 0
        var outcome = feed(input, cap: cap, produced: &produced)
        if outcome == nil {
            outcome = Self.tail.withUnsafeBytes { feed($0, cap: cap, produced: &produced) }
        }
        if let failed = outcome, failed != .inflated { return failed }
        output.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[..<produced])) }
        return .inflated
    }

    /// Feeds `input`; nil when all of it was used and more may follow, `.inflated` at the end of
    /// the DEFLATE stream (a final block: what follows is ignored), or a failure.
    private func feed(_ input: UnsafeRawBufferPointer, cap: Int, produced: inout Int) -> InflateOutcome? {
        stream.setInput(input)
        while true {
            if produced == output.count {
                if output.count >= cap { return .tooBig }
                let grown = min(cap, max(4096, output.count * 2, input.count * 4))
                output.append(contentsOf: repeatElement(0, count: grown - output.count))
            }
            let result = stream.step(zlib.inflate, Zlib.syncFlush, into: &output, produced: &produced)
            if produced > cap - 1 { return .tooBig }
            switch result {
            case Zlib.streamEnd:
                return .inflated
            case Zlib.ok, Zlib.bufError:
                // All input used with room to spare: nothing more comes out of this input.
                if stream.pointee.availIn == 0 && stream.pointee.availOut > 0 { return nil }
                if result == Zlib.bufError && stream.pointee.availOut > 0 { return nil }
            default:
                return .corrupt
            }
        }
    }
}
