// LoopCompression: one loop's permessage-deflate: its inflater, its deflaters, the threshold, and the compressed variant of a fan-out frame.
import TagarelaEventLoop
import TagarelaWire
import TagarelaZlib

/// The zlib state of one gateway loop, shared by all its WebSocket connections that negotiated
/// permessage-deflate (PROTOCOL.md 3.x): one inflater (about 44 KiB), and one deflater per
/// window in use, made on first use (about 256 KiB at window 15, 8 KiB at 9). No connection holds
/// zlib state: every message is compressed and inflated whole with a fresh context.
final class LoopCompression: WebSocketMessageInflater {
    let zlib: ZlibLibrary
    /// Messages shorter than this go uncompressed (`--compression-threshold`).
    let thresholdBytes: Int
    private let inflater: RawInflater
    /// Window 15, for connections that did not limit our window (nearly all of them).
    private var wide: RawDeflater?
    /// Window 9 (zlib's smallest for raw deflate, which fits any window of 8-14 a client asked
    /// for: zlib never refers back more than 250 bytes with it).
    private var narrow: RawDeflater?
    /// What was compressed and inflated, for `/metrics`.
    private(set) var counts = DeflateCounters()

    private let bufferKeptBytesMax: Int

    init(zlib: ZlibLibrary, thresholdBytes: Int, bufferKeptBytesMax: Int) throws(ZlibUnavailable) {
        self.zlib = zlib
        self.thresholdBytes = thresholdBytes
        self.bufferKeptBytesMax = bufferKeptBytesMax
        inflater = try RawInflater(zlib: zlib, outputKeptBytesMax: bufferKeptBytesMax)
        counts.loopsEnabled = 1
    }

    func inflateWebSocketMessage(_ compressed: UnsafeRawBufferPointer, bytesMax: Int,
                                 _ body: (UnsafeRawBufferPointer) -> Void) -> WebSocketInflateResult {
        var inflatedCount = 0
        let outcome = inflater.inflateMessage(compressed, bytesMax: bytesMax) { message in
            inflatedCount = message.count
            body(message)
        }
        switch outcome {
        case .inflated:
            counts.messagesIn += 1
            counts.compressedBytesIn += compressed.count
            counts.uncompressedBytesIn += inflatedCount
            return .inflated
        case .tooBig:
            return .tooBig
        case .corrupt:
            return .corrupt
        }
    }

    /// A final, unmasked frame of `opcode` carrying `payload` compressed with RSV1 set, for a
    /// connection that agreed to `windowBits`; nil when the message is under the threshold or does
    /// not shrink (then it goes uncompressed, RSV1 clear: RFC 7692 section 6 lets each message choose).
    func compressedFrame(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, windowBits: UInt8) -> OutboundBytes? {
        guard payload.count >= thresholdBytes, let deflater = deflater(windowBits: windowBits) else { return nil }
        counts.compressions += 1
        return deflater.compressMessage(payload) { compressed -> OutboundBytes? in
            guard compressed.count < payload.count else { return nil }
            let headerCount = WebSocketFrameEncoder.headerCount(payloadCount: compressed.count, masked: false)
            return OutboundBytes(count: headerCount + compressed.count) { out in
                WebSocketFrameEncoder.writeHeader(opcode: opcode, payloadCount: compressed.count, compressed: true, to: out)
                UnsafeMutableRawBufferPointer(rebasing: out[headerCount...]).copyMemory(from: compressed)
            }
        }
    }

    /// Counts one compressed message queued on one connection.
    func countOut(uncompressed: Int, frame: OutboundBytes) {
        counts.messagesOut += 1
        counts.uncompressedBytesOut += uncompressed
        counts.compressedBytesOut += frame.count
    }

    private func deflater(windowBits: UInt8) -> RawDeflater? {
        if windowBits >= 15 {
            if wide == nil { wide = try? RawDeflater(zlib: zlib, windowBits: 15, outputKeptBytesMax: bufferKeptBytesMax) }
            return wide
        }
        if narrow == nil { narrow = try? RawDeflater(zlib: zlib, windowBits: 9, outputKeptBytesMax: bufferKeptBytesMax) }
        return narrow
    }
}

/// The compressed variants of one fan-out event's text frame, made at most once per window per
/// loop, lazily, and shared by every receiver that negotiated permessage-deflate (as the plain
/// frame is shared by the others).
struct DeflatedFrameCache {
    private var wide: OutboundBytes?? = nil
    private var narrow: OutboundBytes?? = nil

    /// The compressed frame for a connection that agreed to `windowBits`, or nil when this event
    /// goes uncompressed (under the threshold, or it would not shrink).
    mutating func frame(_ json: [UInt8], windowBits: UInt8, compression: LoopCompression) -> OutboundBytes? {
        let isWide = windowBits >= 15
        if let made = isWide ? wide : narrow { return made }
        let made = json.withUnsafeBytes {
            compression.compressedFrame(opcode: .text, payload: $0, windowBits: windowBits)
        }
        if isWide { wide = .some(made) } else { narrow = .some(made) }
        return made
    }
}
