// ZlibTests: the z_stream layout, RFC 7692 vectors, round trips with fresh contexts, the output bound and a missing library.
import TagarelaZlib
import TestSupport
import XCTest

final class ZlibTests: XCTestCase {
    private var zlib: ZlibLibrary!

    override func setUpWithError() throws {
        zlib = try ZlibLibrary()
    }

    /// zlib.h's `z_stream` on LP64 Linux: 14 fields, pointers and longs 8 bytes, ints 4 plus
    /// padding. zlib itself refuses another `stream_size`, which the init calls below pass.
    func testStreamLayoutMatchesZlibHeader() throws {
        XCTAssertEqual(MemoryLayout<ZStream>.size, 112)
        let offsets: [(PartialKeyPath<ZStream>, Int)] = [
            (\ZStream.nextIn, 0), (\ZStream.availIn, 8), (\ZStream.totalIn, 16), (\ZStream.nextOut, 24),
            (\ZStream.availOut, 32), (\ZStream.totalOut, 40), (\ZStream.msg, 48), (\ZStream.state, 56),
            (\ZStream.zalloc, 64), (\ZStream.zfree, 72), (\ZStream.opaque, 80), (\ZStream.dataType, 88),
            (\ZStream.adler, 96), (\ZStream.reserved, 104),
        ]
        for (path, offset) in offsets { XCTAssertEqual(MemoryLayout<ZStream>.offset(of: path), offset) }
        XCTAssertNoThrow(try RawDeflater(zlib: zlib))
        XCTAssertNoThrow(try RawInflater(zlib: zlib))
        XCTAssertTrue(zlib.version.hasPrefix("1."))
    }

    /// RFC 7692 section 7.2.3.1: "Hello" compressed without context is `f2 48 cd c9 c9 07 00`.
    func testRFC7692HelloVector() throws {
        let deflater = try RawDeflater(zlib: zlib)
        XCTAssertEqual(deflater.compress(Array("Hello".utf8)), [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        // Twice: the second message owes nothing to the first (no context takeover).
        XCTAssertEqual(deflater.compress(Array("Hello".utf8)), [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        let inflater = try RawInflater(zlib: zlib)
        // The same, with BFINAL set (7.2.3.4's form) and as a stored block (7.2.3.3).
        for vector: [UInt8] in [[0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], [0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00],
                                [0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00]] {
            XCTAssertEqual(inflate(inflater, vector, bytesMax: 100), .success(Array("Hello".utf8)))
        }
    }

    func testRoundTripsOfManySizesShareOneDeflaterAndInflater() throws {
        let deflater = try RawDeflater(zlib: zlib)
        let inflater = try RawInflater(zlib: zlib)
        var random = SeededRandom(seed: 11)
        for size in [0, 1, 63, 64, 200, 4_096, 70_000, 300_000] {
            let text = (0..<size).map { _ in UInt8(ascii: "a") + UInt8(random.below(6)) }
            let compressed = deflater.compress(text)
            XCTAssertEqual(inflate(inflater, compressed, bytesMax: 1 << 20), .success(text), "size \(size)")
        }
        // Incompressible bytes still round-trip (stored blocks).
        let noise = random.bytes(100_000)
        XCTAssertEqual(inflate(inflater, deflater.compress(noise), bytesMax: 1 << 20), .success(noise))
    }

    /// A bomb: 1 KiB that inflates to more than the limit stops one byte past it.
    func testInflationStopsAtTheLimit() throws {
        let deflater = try RawDeflater(zlib: zlib)
        let inflater = try RawInflater(zlib: zlib)
        let limit = 1 << 20
        let bomb = deflater.compress([UInt8](repeating: 0, count: 64 << 20))
        XCTAssertLessThan(bomb.count, 70_000)
        XCTAssertEqual(inflate(inflater, bomb, bytesMax: limit), .failure(.tooBig))
        let exact = deflater.compress([UInt8](repeating: 0, count: limit))
        XCTAssertEqual(inflate(inflater, exact, bytesMax: limit).map(\.count), .success(limit))
        XCTAssertEqual(inflate(inflater, exact, bytesMax: limit - 1), .failure(.tooBig))
        // The inflater is fine afterwards.
        XCTAssertEqual(inflate(inflater, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], bytesMax: 5),
                       .success(Array("Hello".utf8)))
    }

    /// `Limits.compressionBufferKeptBytesMax`: a buffer grown past the kept size for one big
    /// message is freed after it; a smaller one stays for the next message.
    func testBuffersPastTheKeptSizeAreFreed() throws {
        let deflater = try RawDeflater(zlib: zlib, outputKeptBytesMax: 4096)
        let inflater = try RawInflater(zlib: zlib, outputKeptBytesMax: 4096)
        let small = deflater.compress([UInt8](repeating: 0x61, count: 1000))
        XCTAssertGreaterThan(deflater.retainedBytes, 0)
        XCTAssertEqual(inflate(inflater, small, bytesMax: 1 << 20).map(\.count), .success(1000))
        XCTAssertGreaterThan(inflater.retainedBytes, 0)
        XCTAssertLessThanOrEqual(inflater.retainedBytes, 4096)
        var random = SeededRandom(seed: 3)
        let big = deflater.compress(random.bytes(10_000))
        XCTAssertEqual(deflater.retainedBytes, 0)
        XCTAssertEqual(inflate(inflater, big, bytesMax: 1 << 20).map(\.count), .success(10_000))
        XCTAssertEqual(inflater.retainedBytes, 0)
    }

    func testCorruptInputIsRefused() throws {
        let inflater = try RawInflater(zlib: zlib)
        // Block type 3 is reserved (RFC 1951 section 3.2.3).
        XCTAssertEqual(inflate(inflater, [0xFF, 0xFF, 0xFF], bytesMax: 100), .failure(.corrupt))
        XCTAssertEqual(inflate(inflater, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], bytesMax: 100),
                       .success(Array("Hello".utf8)))
    }

    func testWindowEightIsServedWithNine() throws {
        let deflater = try RawDeflater(zlib: zlib, windowBits: 8)
        XCTAssertEqual(deflater.windowBits, 9)
        let inflater = try RawInflater(zlib: zlib)
        let text = Array(String(repeating: "tagarela chat ", count: 100).utf8)
        XCTAssertEqual(inflate(inflater, deflater.compress(text), bytesMax: 1 << 20), .success(text))
    }

    func testMissingLibraryIsReportedNotFatal() {
        XCTAssertThrowsError(try ZlibLibrary(name: "libz-absent-for-test.so.9")) { error in
            let unavailable = error as? ZlibUnavailable
            XCTAssertEqual(unavailable?.library, "libz-absent-for-test.so.9")
            XCTAssertFalse(unavailable?.reason.isEmpty ?? true)
        }
        // A library that is there but is not zlib.
        XCTAssertThrowsError(try ZlibLibrary(name: "libm.so.6")) { error in
            XCTAssertTrue((error as? ZlibUnavailable)?.reason.contains("deflateInit2_") ?? false)
        }
    }

    private func inflate(_ inflater: RawInflater, _ bytes: [UInt8], bytesMax: Int) -> Result<[UInt8], Failure> {
        var out: [UInt8] = []
        let outcome = bytes.withUnsafeBytes { inflater.inflateMessage($0, bytesMax: bytesMax) { out = Array($0) } }
        switch outcome {
        case .inflated: return .success(out)
        case .tooBig: return .failure(.tooBig)
        case .corrupt: return .failure(.corrupt)
        }
    }

    enum Failure: Error, Equatable { case tooBig, corrupt }
}
