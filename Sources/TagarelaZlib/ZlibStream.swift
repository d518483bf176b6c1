// ZlibStream: what the deflater and the inflater do alike with their z_stream: set it up, feed it, run one step into a buffer, end it.

/// The stream is held through a pointer of its own (zlib's state points back at it, so it must
/// never move) by one `RawDeflater` or `RawInflater`, which ends it in its `deinit`. These are
/// inlined into the per-message code: the same calls and memory accesses as written out there.
extension UnsafeMutablePointer where Pointee == ZStream {
    /// Allocates a stream and sets it up with `initialize` (a call of `deflateInit2_` or
    /// `inflateInit2_`, named by `name` in the error when it fails).
    static func openZlibStream(_ zlib: ZlibLibrary, name: String,
                               _ initialize: (UnsafeMutableRawPointer) -> Int32) throws(ZlibUnavailable) -> Self {
        let stream = Self.allocate(capacity: 1)
        stream.initialize(to: ZStream())
        let status = initialize(UnsafeMutableRawPointer(stream))
        guard status == Zlib.ok else {
            stream.deallocate()
            throw ZlibUnavailable(library: "zlib \(zlib.version)", reason: "\(name) returned \(status)")
        }
        return stream
    }

    /// The stream as zlib's function types take it (a Swift struct cannot appear in a C function type).
    var raw: UnsafeMutableRawPointer { UnsafeMutableRawPointer(self) }

    /// Ends the stream with `end` (`deflateEnd` or `inflateEnd`) and frees its memory.
    func close(_ end: ZlibLibrary.Call) {
        _ = end(raw)
        deallocate()
    }

    /// Makes `input` what zlib reads next.
    @inline(__always)
    func setInput(_ input: UnsafeRawBufferPointer) {
        pointee.nextIn = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        pointee.availIn = UInt32(input.count)
    }

    /// One call of `call` (`deflate` or `inflate`) with `flush`, writing into `output` from
    /// `produced` to its end: adds what it wrote to `produced` and returns zlib's status.
    @inline(__always)
    func step(_ call: ZlibLibrary.Step, _ flush: Int32, into output: inout [UInt8], produced: inout Int) -> Int32 {
        let room = output.count - produced
        let start = produced
        let result = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            pointee.nextOut = buffer.baseAddress! + start
            pointee.availOut = UInt32(room)
            return call(raw, flush)
        }
        produced += room - Int(pointee.availOut)
        return result
    }

    /// After a message: zlib keeps no pointer into the caller's input or the output buffer.
    @inline(__always)
    func forgetBuffers() {
        pointee.nextIn = nil
        pointee.nextOut = nil
    }
}
