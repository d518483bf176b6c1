// FuzzInput: what every libFuzzer harness shares: the input split into a control byte and a stream, chunking, checks.

#if canImport(Glibc)
import Glibc
#endif

/// Stops the run when an invariant fails. libFuzzer catches the abort and saves the input as a
/// crash artifact, so a broken invariant is reported exactly like a sanitizer error.
func require(_ condition: Bool, _ message: @autoclosure () -> String, line: UInt = #line) {
    if condition { return }
    fputs("fuzz invariant failed (line \(line)): \(message())\n", stderr)
    abort()
}

/// One fuzzer input: the first byte steers the harness (chunk sizes, limits), the rest is the
/// byte stream under test. Keeping the control in one leading byte lets libFuzzer's mutations
/// explore splits and content independently, and keeps seed files readable.
struct FuzzInput {
    /// The first byte, or 0 for an empty input.
    let control: UInt8
    /// Everything after the first byte.
    let stream: [UInt8]

    init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        let all = UnsafeBufferPointer(start: data, count: size)
        control = all.first ?? 0
        stream = size > 1 ? Array(all[1...]) : []
    }

    /// The stream cut into consecutive ranges whose sizes come from the control byte: the low
    /// three bits pick the largest chunk (1 byte up to whole), the high five seed the sizes.
    func chunks() -> [Range<Int>] {
        let largest = [1, 2, 3, 5, 8, 17, 64, Int.max][Int(control & 7)]
        var random = SplitMix64(seed: UInt64(control >> 3))
        var ranges: [Range<Int>] = []
        var start = 0
        while start < stream.count {
            let size = largest == Int.max ? stream.count - start : 1 + Int(random.next() % UInt64(largest))
            let end = min(stream.count, start + size)
            ranges.append(start..<end)
            start = end
        }
        return ranges
    }

    /// Calls `body` with a copy of `stream[range]` in its own allocation of exactly that size,
    /// so AddressSanitizer reports any read or write past the chunk a parser is given.
    func withExactCopy<R, E: Error>(_ range: Range<Int>, _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: range.count, alignment: 1)
        defer { buffer.deallocate() }
        stream.withUnsafeBytes { source in
            if !range.isEmpty { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[range])) }
        }
        return try body(buffer)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny and deterministic, so a crash input replays exactly.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
