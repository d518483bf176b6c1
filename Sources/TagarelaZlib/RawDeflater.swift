// RawDeflater: compresses one whole message at a time with a fresh context (RFC 7692 7.2.1, no context takeover).

/// A raw DEFLATE compressor reset before every message, so its output depends on that message
/// alone: the same bytes serve every receiver that negotiated `server_no_context_takeover`.
///
/// One per gateway loop (and per window size in use): about 256 KiB of zlib state at window 15
/// (zlib's `(1 << (windowBits + 2)) + (1 << (memLevel + 9))`), paid once per loop instead of once
/// per connection. Confined to its loop's thread.
public final class RawDeflater {
    private let zlib: ZlibLibrary
    private let stream: UnsafeMutablePointer<ZStream>
    /// The window actually used: zlib refuses 8 for raw deflate, so 8 becomes 9 (see `init`).
    public let windowBits: Int32
    private var output: [UInt8] = []
    /// Output capacity kept between messages; a larger buffer (after a big message) is released.
    private let outputKeptBytesMax: Int

    /// Bytes of output buffer held between messages (at most `outputKeptBytesMax`).
    public var retainedBytes: Int { output.count }

    /// `windowBits` 8-15. zlib's raw deflate refuses 8, so 9 is used for 8: zlib never refers
    /// further back than its window minus 262 bytes (`MAX_DIST` in deflate.h), 250 bytes at 9,
    /// so its output still fits a peer's 256-byte window (PROTOCOL.md 3.x).
    public init(zlib: ZlibLibrary, windowBits: Int32 = 15, level: Int32 = 6, memLevel: Int32 = 8,
                outputKeptBytesMax: Int = 64 * 1024) throws(ZlibUnavailable) {
        precondition((8...15).contains(windowBits), "window bits outside 8-15")
        let bits = max(9, windowBits)
        self.zlib = zlib
        self.windowBits = bits
        self.outputKeptBytesMax = outputKeptBytesMax
        stream = try .openZlibStream(zlib, name: "deflateInit2_") {
            zlib.deflateInit2($0, level, Zlib.deflated, -bits, memLevel, Zlib.defaultStrategy, zlib.versionPointer,
                              ZlibLibrary.streamSize)
        }
    }

    deinit {
        stream.close(zlib.deflateEnd)
    }

    /// Compresses `input` as one message: reset, deflate with `Z_SYNC_FLUSH`, and drop the
    /// `00 00 ff ff` the flush ends with (RFC 7692 7.2.1). `body` sees the compressed bytes,
    /// valid only during the call.
    public func compressMessage<R>(_ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let status = zlib.deflateReset(stream.raw)
        precondition(status == Zlib.ok, "deflateReset failed: \(status)")
        // Stored blocks are 5 bytes per 64 KiB at worst, plus the flush: this bound is rarely grown.
        if output.count < input.count + 64 { output = [UInt8](repeating: 0, count: input.count + input.count / 8 + 64) }
        var produced = 0
        stream.setInput(input)
        while true {
            if produced == output.count { output.append(contentsOf: repeatElement(0, count: output.count)) }
            let result = stream.step(zlib.deflate, Zlib.syncFlush, into: &output, produced: &produced)
            precondition(result == Zlib.ok || result == Zlib.bufError, "deflate failed: \(result)")
            // Done when the flush fitted: input used and room left over (zlib.h on Z_SYNC_FLUSH).
            if stream.pointee.availIn == 0 && stream.pointee.availOut > 0 { break }
        }
        stream.forgetBuffers()
        precondition(produced >= 4 && output[produced - 4] == 0 && output[produced - 1] == 0xFF, "no sync flush tail")
        let result = output.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[..<(produced - 4)])) }
        if output.count > outputKeptBytesMax { output = [] }
        return result
    }

    /// `compressMessage` into a new array (tests and the load generator).
    public func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { compressMessage($0) { Array($0) } }
    }
}
