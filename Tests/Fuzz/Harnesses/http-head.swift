// http-head: the protocol sniffer and the HTTP head parser fed in chunks, checked against the same bytes fed whole.

import TagarelaWire

/// The outcome of a whole run, with `consumed` counted from the start of the stream so that
/// chunked and whole runs compare.
private enum Outcome: Equatable {
    case needMore
    case complete(HTTPRequestHead, consumed: Int)
    case failed(HTTPError)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    var limits = Limits()
    // Control bit 7: tiny limits, so the 431 paths are reached with short inputs too.
    if input.control & 0x80 != 0 {
        limits.httpHeadBytesMax = 64
        limits.httpHeaderCountMax = 3
    }
    sniff(input)
    let whole = parse(input, [0..<input.stream.count], limits)
    let chunked = parse(input, input.chunks(), limits)
    require(whole == chunked, "whole \(whole) != chunked \(chunked)")
    if case .complete(let head, let consumed) = whole {
        require(consumed <= limits.httpHeadBytesMax, "consumed \(consumed) past the head limit")
        require(head.headers.count <= limits.httpHeaderCountMax, "\(head.headers.count) headers past the limit")
        // What the gateway does next with a complete head.
        for origins in [nil, ["http://127.0.0.1"]] as [[String]?] {
            require(!WebSocketHandshake.evaluate(head, allowedOrigins: origins).responseBytes.isEmpty, "empty response")
        }
        _ = head.path
    }
    return 0
}

/// Feeds `chunks` of the stream to one parser until it decides.
private func parse(_ input: FuzzInput, _ chunks: [Range<Int>], _ limits: Limits) -> Outcome {
    var parser = HTTPHeadParser(limits: limits)
    for range in chunks {
        let result = input.withExactCopy(range) { parser.feed(UnsafeRawBufferPointer($0)) }
        require(parser.bufferedCount < limits.httpHeadBytesMax, "buffered \(parser.bufferedCount) bytes")
        switch result {
        case .needMore: continue
        case .complete(let head, let consumed):
            require(consumed >= 1 && consumed <= range.count, "consumed \(consumed) of a \(range.count)-byte input")
            return .complete(head, consumed: range.lowerBound + consumed)
        case .failed(let error):
            require(parser.bufferedCount == 0, "a failed parser keeps \(parser.bufferedCount) bytes")
            return .failed(error)
        }
    }
    return .needMore
}

/// The sniffer decides the same whatever the split, and `earlierBytes` plus the deciding
/// chunk are exactly the bytes so far (the gateway replays them into the chosen parser).
private func sniff(_ input: FuzzInput) {
    var whole = ProtocolSniffer()
    let expected = input.withExactCopy(0..<input.stream.count) { whole.feed(UnsafeRawBufferPointer($0)) }
    var sniffer = ProtocolSniffer()
    var decided = ProtocolSniffer.Result.needMore
    for range in input.chunks() {
        decided = input.withExactCopy(range) { sniffer.feed(UnsafeRawBufferPointer($0)) }
        if decided != .needMore {
            let replay = sniffer.earlierBytes + input.stream[range]
            require(replay == Array(input.stream[..<range.upperBound]), "earlierBytes \(sniffer.earlierBytes) do not rebuild the stream")
            break
        }
    }
    require(decided == expected, "sniffed \(decided) in chunks, \(expected) whole")
}
