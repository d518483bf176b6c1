// link: the gateway-worker link decoder fed in chunks; every frame it emits must re-encode to the exact bytes it came from.

import TagarelaLink

/// What a run produced: the frames, then the error that stopped it, if any.
private struct Outcome: Equatable {
    var frames: [LinkFrame] = []
    var error: LinkError?
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLink(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    // Control bit 7: a 64-byte frame limit, so the oversize path is reached with short inputs too.
    let maxFrameBytes = input.control & 0x80 != 0 ? 64 : 1 << 16
    let whole = run(input, [0..<input.stream.count], maxFrameBytes)
    let chunked = run(input, input.chunks(), maxFrameBytes)
    require(whole == chunked, "whole \(whole) != chunked \(chunked)")
    // The format has one encoding per frame, so the frames rebuild a prefix of the stream.
    var encoded: [UInt8] = []
    for frame in whole.frames { LinkCodec.encode(frame, into: &encoded) }
    require(encoded.count <= input.stream.count && encoded[...] == input.stream[..<encoded.count],
            "re-encoded frames differ from the bytes they were decoded from")
    if whole.error == nil {
        // Without an error, what is left is one partial frame, held by the decoder.
        require(input.stream.count - encoded.count <= maxFrameBytes + LinkCodec.lengthPrefixCount, "unaccounted bytes")
    }
    return 0
}

private func run(_ input: FuzzInput, _ chunks: [Range<Int>], _ maxFrameBytes: Int) -> Outcome {
    var decoder = LinkDecoder(maxFrameBytes: maxFrameBytes)
    var outcome = Outcome()
    for range in chunks {
        do {
            try input.withExactCopy(range) { buffer throws(LinkError) in
                try decoder.feed(UnsafeRawBufferPointer(buffer)) { outcome.frames.append($0) }
            }
        } catch {
            outcome.error = error
            require(decoder.bufferedBytes == 0, "a failed decoder keeps \(decoder.bufferedBytes) bytes")
            var again: LinkError?
            do { try decoder.feed([1]) { _ in } } catch { again = error }
            require(again == error, "a failed decoder answered \(String(describing: again)) after \(error)")
            break
        }
        require(decoder.bufferedBytes <= maxFrameBytes + LinkCodec.lengthPrefixCount, "\(decoder.bufferedBytes) bytes buffered")
    }
    return outcome
}
