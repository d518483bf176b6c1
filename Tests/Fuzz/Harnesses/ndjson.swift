// ndjson: the raw-TCP line framer fed in chunks, checked against a plain model of the same rules.

import TagarelaWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNDJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    // Control bits 6-7 pick the line limit: tiny ones make every boundary case reachable.
    let lineBytesMax = [1, 3, 64, 1 << 20][Int(input.control >> 6)]
    let expected = model(input.stream, lineBytesMax)
    var framer = NDJSONFramer(lineBytesMax: lineBytesMax)
    var lines: [[UInt8]] = []
    var failed = false
    for range in input.chunks() {
        do {
            try input.withExactCopy(range) { buffer throws(NDJSONFramerError) in
                try framer.feed(UnsafeRawBufferPointer(buffer)) { lines.append(Array($0)) }
            }
        } catch {
            failed = true
            break
        }
        require(framer.bufferedCount <= lineBytesMax, "\(framer.bufferedCount) bytes buffered")
    }
    require(lines == expected.lines, "lines \(lines) != \(expected.lines)")
    require(failed == expected.failed, "failed \(failed), expected \(expected.failed)")
    if failed {
        require(framer.bufferedCount == 0, "a failed framer keeps \(framer.bufferedCount) bytes")
        var again = false
        do { try framer.feed([UInt8(ascii: "\n")]) { _ in } } catch { again = true }
        require(again, "a failed framer accepted more input")
    }
    return 0
}

/// PROTOCOL.md 1 as a plain loop over the whole stream: lines end at `\n`, one `\r` before it
/// is dropped, empty lines are skipped, and a line (or unfinished tail) longer than the limit
/// fails the stream after the lines before it.
private func model(_ stream: [UInt8], _ lineBytesMax: Int) -> (lines: [[UInt8]], failed: Bool) {
    var lines: [[UInt8]] = []
    var segments = stream.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    let tail = segments.removeLast()
    for segment in segments {
        if segment.count > lineBytesMax { return (lines, true) }
        var line = Array(segment)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if !line.isEmpty { lines.append(line) }
    }
    return (lines, tail.count > lineBytesMax)
}
