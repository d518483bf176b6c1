// LinkDecoderFuzzTests: seeded random bytes and random chunking never crash the decoder or grow it unbounded.
import XCTest
@testable import TagarelaLink
import TestSupport

final class LinkDecoderFuzzTests: XCTestCase {
    /// Random garbage: the decoder either emits frames or throws a LinkError, and never keeps
    /// more than one frame's worth of bytes.
    func testRandomBytesInRandomChunks() {
        let maxFrame = 4096
        for seed in 0..<300 as Range<UInt64> {
            var rng = SeededRandom(seed: seed)
            var decoder = LinkDecoder(maxFrameBytes: maxFrame)
            let length = rng.below(20_000)
            // Small prefixes make plausible frame lengths more likely than uniform bytes would.
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if length >= 4 && seed % 2 == 0 { bytes[0] = 0; bytes[1] = 0; bytes[2] = UInt8(rng.below(16)) }
            var index = 0
            while index < bytes.count {
                let size = 1 + rng.below(512)
                let chunk = Array(bytes[index..<min(bytes.count, index + size)])
                index += size
                do {
                    try decoder.feed(chunk) { _ in }
                } catch {
                    break
                }
                XCTAssertLessThanOrEqual(decoder.bufferedBytes, maxFrame + 4, "seed \(seed)")
            }
        }
    }

    /// Valid frames mutated at random positions: still no crash, still bounded.
    func testMutatedValidStreams() {
        var stream: [UInt8] = []
        for frame in LinkCodecTests.samples { LinkCodec.encode(frame, into: &stream) }
        for seed in 0..<500 as Range<UInt64> {
            var rng = SeededRandom(seed: seed &+ 1000)
            var bytes = stream
            for _ in 0..<(1 + rng.below(4)) {
                bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
            }
            var decoder = LinkDecoder(maxFrameBytes: 1024)
            var index = 0
            while index < bytes.count {
                let size = 1 + rng.below(64)
                let chunk = Array(bytes[index..<min(bytes.count, index + size)])
                index += size
                do { try decoder.feed(chunk) { _ in } } catch { break }
                XCTAssertLessThanOrEqual(decoder.bufferedBytes, 1024 + 4)
            }
        }
    }
}
