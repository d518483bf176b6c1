// OutboundBytes: an immutable heap byte buffer that many channels' output queues share, so a fan-out frame is encoded once.
import Glibc

/// Immutable bytes waiting to be written. Allocated once and then only referenced: writing one
/// `OutboundBytes` to a thousand channels queues a thousand references, not a thousand copies.
/// The bytes live in their own allocation so `writev` can point at several of them at once.
public final class OutboundBytes {
    @usableFromInline let base: UnsafeMutableRawPointer
    /// Number of bytes.
    public let count: Int

    /// Copies `bytes` into a new buffer.
    public init(_ bytes: [UInt8]) {
        count = bytes.count
        base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { source in
            if let from = source.baseAddress { base.copyMemory(from: from, byteCount: source.count) }
        }
    }

    /// Copies the bytes `copying` points at (for example a slice of the loop's read buffer).
    public init(copying bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 16)
        if let from = bytes.baseAddress { base.copyMemory(from: from, byteCount: bytes.count) }
    }

    /// Allocates `count` bytes and lets `fill` write every one of them: a frame assembled from
    /// several pieces (header, payload) then costs one allocation and one copy of each piece.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(count >= 0, "negative byte count")
        self.count = count
        base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: 16)
        fill(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    deinit { base.deallocate() }

    /// Calls `body` with a view of the bytes (valid only during the call).
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }
}
