// LinkDecoder: an incremental parser that turns link bytes, split anywhere, into frames.

/// Incremental link frame decoder (pure: no sockets, clocks or logging).
///
/// Only a partial frame is ever kept: up to 4 header bytes, then the body of the one frame in
/// progress. Whole frames inside the fed bytes are decoded in place without copying the body.
/// The length is checked against `maxFrameBytes` as soon as the prefix is complete, before any
/// body byte is buffered, so a broken peer cannot make the decoder allocate its claimed size.
/// After an error the decoder stays failed and every later `feed` throws the same error.
public struct LinkDecoder {
    /// The largest frame body accepted (everything after the length prefix).
    public let maxFrameBytes: Int

    /// A buffer that grew past this is released after its frame, so one big frame does not pin
    /// its memory for the life of the link.
    private static let retainedCapacityMax = 64 * 1024

    private var header: UInt32 = 0
    private var headerCount = 0
    /// The length of the frame whose body is being buffered, or -1 while reading a header.
    private var bodyLength = -1
    private var body: [UInt8] = []
    private var failure: LinkError?

    /// Creates a decoder refusing frames whose body exceeds `maxFrameBytes`.
    public init(maxFrameBytes: Int) {
        precondition(maxFrameBytes >= 1 && maxFrameBytes <= Int(UInt32.max), "maxFrameBytes out of range")
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes held for a partial frame (header bytes plus buffered body).
    public var bufferedBytes: Int { headerCount + body.count }

    /// Feeds bytes from the stream; calls `emit` for every frame completed by them, in order.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (LinkFrame) -> Void) throws(LinkError) {
        if let failure { throw failure }
        do {
            try feedUnchecked(bytes, emit)
        } catch {
            // Drop whatever was carried: a failed link is closed, so nothing of it is worth keeping.
            failure = error
            header = 0
            headerCount = 0
            bodyLength = -1
            body = []
            throw error
        }
    }

    /// Feeds bytes from an array (tests and small callers).
    public mutating func feed(_ bytes: [UInt8], _ emit: (LinkFrame) -> Void) throws(LinkError) {
        let result: Result<Void, LinkError> = bytes.withUnsafeBytes { raw in
            do throws(LinkError) { try feed(raw, emit); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    private mutating func feedUnchecked(_ bytes: UnsafeRawBufferPointer, _ emit: (LinkFrame) -> Void) throws(LinkError) {
        var index = 0
        let end = bytes.count
        while index < end {
            if bodyLength < 0 {
                // Header: take the fast path when all four bytes are here, else carry them.
                if headerCount == 0 && end - index >= 4 {
                    header = UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16
                        | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
                    headerCount = 4
                    index += 4
                } else {
                    header = header << 8 | UInt32(bytes[index])
                    headerCount += 1
                    index += 1
                    if headerCount < 4 { continue }
                }
                let length = Int(header)
                if length == 0 { throw .emptyFrame }
                if length > maxFrameBytes { throw .frameTooLarge(length: length, max: maxFrameBytes) }
                header = 0
                headerCount = 0
                if end - index >= length {
                    // The whole body is in this read: decode it where it lies.
                    let frame = try LinkDecoder.decodeBody(UnsafeRawBufferPointer(rebasing: bytes[index..<index + length]))
                    index += length
                    emit(frame)
                } else {
                    bodyLength = length
                    body.reserveCapacity(length)
                }
            } else {
                let take = min(bodyLength - body.count, end - index)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<index + take]))
                index += take
                if body.count == bodyLength {
                    let result: Result<LinkFrame, LinkError> = body.withUnsafeBytes { raw in
                        do throws(LinkError) { return .success(try LinkDecoder.decodeBody(raw)) } catch { return .failure(error) }
                    }
                    bodyLength = -1
                    if body.capacity > LinkDecoder.retainedCapacityMax {
                        body = []
                    } else {
                        body.removeAll(keepingCapacity: true)
                    }
                    emit(try result.get())
                }
            }
        }
    }

    /// Decodes one complete frame body (type byte and fields).
    static func decodeBody(_ raw: UnsafeRawBufferPointer) throws(LinkError) -> LinkFrame {
        var reader = LinkReader(raw)
        let typeByte = try reader.u8()
        guard let kind = LinkFrame.Kind(rawValue: typeByte) else { throw .unknownType(typeByte) }
        let frame: LinkFrame
        switch kind {
        case .request:
            let requestID = try reader.u64()
            let connectionID = try reader.u64()
            let flags = try reader.u8()
            let userID = try reader.string()
            let sessionID = try reader.string()
            let arg = try reader.string()
            let json = try reader.blob()
            frame = .request(LinkRequest(requestID: requestID, connectionID: connectionID, flags: flags,
                                         userID: userID, sessionID: sessionID, arg: arg, json: json))
        case .reply:
            let requestID = try reader.u64()
            let json = try reader.blob()
            let authUserID = try reader.string()
            let authSessionID = try reader.string()
            let endSessionID = try reader.string()
            let endUserID = try reader.string()
            let events = try reader.events()
            frame = .reply(LinkReply(requestID: requestID, json: json, authUserID: authUserID,
                                     authSessionID: authSessionID, endSessionID: endSessionID,
                                     endUserID: endUserID, events: events))
        case .events:
            frame = .events(try reader.events())
        case .ping:
            frame = .ping(try reader.u64())
        case .pong:
            frame = .pong(try reader.u64())
        case .subscribe:
            frame = .subscribe(try reader.strings())
        case .unsubscribe:
            frame = .unsubscribe(try reader.strings())
        case .statsRequest:
            frame = .statsRequest(try reader.u64())
        case .stats:
            frame = .stats(try reader.stats())
        }
        if reader.remaining != 0 { throw .trailingBytes(count: reader.remaining) }
        return frame
    }
}

/// A bounds-checked big-endian cursor over one frame body.
struct LinkReader {
    private let raw: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    var remaining: Int { raw.count - offset }

    mutating func u8() throws(LinkError) -> UInt8 {
        guard remaining >= 1 else { throw .truncatedField(offset: offset) }
        defer { offset += 1 }
        return raw[offset]
    }

    mutating func u32() throws(LinkError) -> UInt32 {
        guard remaining >= 4 else { throw .truncatedField(offset: offset) }
        defer { offset += 4 }
        return UInt32(raw[offset]) << 24 | UInt32(raw[offset + 1]) << 16
            | UInt32(raw[offset + 2]) << 8 | UInt32(raw[offset + 3])
    }

    mutating func u64() throws(LinkError) -> UInt64 {
        guard remaining >= 8 else { throw .truncatedField(offset: offset) }
        let high = try u32()
        let low = try u32()
        return UInt64(high) << 32 | UInt64(low)
    }

    /// A u32 count of elements that each take at least `minimumElementBytes`; a count the rest
    /// of the frame cannot hold is refused before anything is reserved for it.
    mutating func count(minimumElementBytes: Int) throws(LinkError) -> Int {
        let at = offset
        let n = Int(try u32())
        guard n <= remaining / minimumElementBytes else { throw .truncatedField(offset: at) }
        return n
    }

    mutating func bytes() throws(LinkError) -> UnsafeRawBufferPointer {
        let at = offset
        let n = Int(try u32())
        guard n <= remaining else { throw .truncatedField(offset: at) }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n])
    }

    mutating func blob() throws(LinkError) -> [UInt8] {
        [UInt8](try bytes())
    }

    mutating func string() throws(LinkError) -> String {
        let at = offset
        let slice = try bytes()
        if slice.isEmpty { return "" }
        // `String(decoding:)` over typed UTF-8 code units is the standard library's fast path
        // (the generic `String(validating:as:)` looked up generic metadata on every call, about a
        // tenth of the gateway's time at full fan-out). It repairs ill-formed input with U+FFFD,
        // so the result equals the input exactly when the input was valid UTF-8.
        let decoded: String? = slice.withMemoryRebound(to: UInt8.self) { units in
            let s = String(decoding: units, as: UTF8.self)
            return s.utf8.elementsEqual(units) ? s : nil
        }
        guard let s = decoded else { throw .invalidUTF8(offset: at) }
        return s
    }

    /// A list of strings: u32 count, then each as u32 length + bytes.
    mutating func strings() throws(LinkError) -> [String] {
        let n = try count(minimumElementBytes: 4)
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try string()) }
        return out
    }

    /// A worker's stats (LinkCodec's layout); a histogram whose parts do not fit together
    /// (`Histogram.boundsMax`, ascending bounds) is refused like any malformed field.
    mutating func stats() throws(LinkError) -> WorkerStats {
        let nonce = try u64()
        let valueCount = try count(minimumElementBytes: 12)
        var values: [WorkerStats.Value] = []
        values.reserveCapacity(valueCount)
        for _ in 0..<valueCount {
            let name = try string()
            values.append(WorkerStats.Value(name, Int64(bitPattern: try u64())))
        }
        let histogramCount = try count(minimumElementBytes: 24)
        var histograms: [WorkerStats.NamedHistogram] = []
        histograms.reserveCapacity(histogramCount)
        for _ in 0..<histogramCount {
            let name = try string()
            let at = offset
            let boundCount = try count(minimumElementBytes: 16)
            guard boundCount <= Histogram.boundsMax else { throw .truncatedField(offset: at) }
            var bounds: [Int64] = []
            for _ in 0..<boundCount { bounds.append(Int64(bitPattern: try u64())) }
            var counts: [UInt64] = []
            for _ in 0...boundCount { counts.append(try u64()) }
            let sum = Int64(bitPattern: try u64())
            guard let histogram = Histogram(bounds: bounds, counts: counts, sum: sum) else {
                throw .truncatedField(offset: at)
            }
            histograms.append(WorkerStats.NamedHistogram(name, histogram))
        }
        return WorkerStats(nonce: nonce, values: values, histograms: histograms)
    }

    /// An event takes at least: u32 user count, u64 exclude, u32 json length.
    mutating func events() throws(LinkError) -> [LinkEvent] {
        let n = try count(minimumElementBytes: 16)
        var events: [LinkEvent] = []
        events.reserveCapacity(n)
        for _ in 0..<n {
            let userCount = try count(minimumElementBytes: 4)
            var users: [String] = []
            users.reserveCapacity(userCount)
            for _ in 0..<userCount { users.append(try string()) }
            let exclude = try u64()
            let json = try blob()
            events.append(LinkEvent(userIDs: users, excludeConnectionID: exclude, json: json))
        }
        return events
    }
}
