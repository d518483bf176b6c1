// NATSParser: the pure incremental parser of the server side of the NATS client protocol.
import TagarelaJSON

/// Parses INFO, MSG, HMSG, PING, PONG, +OK and -ERR from bytes cut anywhere. Between feeds it
/// keeps only a partial control line (bounded by `NATSLimits.controlLineBytesMax`) or the body
/// of one message whose announced size was checked against `payloadBytesMax` before a byte of
/// it was buffered. No sockets, clocks or logging: the connection feeds it.
public struct NATSParser {
    /// The largest message body (headers and payload) accepted: the server's `max_payload`.
    public var payloadBytesMax: Int

    private var line: [UInt8] = []
    private var pending: PendingMessage?
    private var body: [UInt8] = []

    private struct PendingMessage {
        let subject: String
        let sid: UInt64
        let reply: String?
        let headerBytes: Int  // 0 for MSG
        let totalBytes: Int
    }

    public init(payloadBytesMax: Int = NATSLimits.payloadBytesDefault) {
        self.payloadBytesMax = payloadBytesMax
    }

    /// True when nothing partial is held (for the split tests).
    public var isIdle: Bool { line.isEmpty && pending == nil && body.isEmpty }

    /// Feeds `bytes`, calling `emit` for each complete operation in order.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (NATSServerOp) -> Void) throws(NATSProtocolError) {
        var i = 0
        let count = bytes.count
        while i < count {
            if let message = pending {
                if body.isEmpty && count - i >= message.totalBytes + 2 {
                    // The whole body is in this read: built straight from it, one copy.
                    pending = nil
                    let op = try finish(message, UnsafeRawBufferPointer(rebasing: bytes[i..<(i + message.totalBytes + 2)]))
                    i += message.totalBytes + 2
                    emit(op)
                    continue
                }
                let need = message.totalBytes + 2 - body.count
                let take = min(need, count - i)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)]))
                i += take
                if body.count == message.totalBytes + 2 {
                    pending = nil
                    let result: Result<NATSServerOp, NATSProtocolError> = body.withUnsafeBytes { raw in
                        do throws(NATSProtocolError) { return .success(try finish(message, raw)) } catch { return .failure(error) }
                    }
                    let op = try result.get()
                    body.removeAll(keepingCapacity: body.capacity <= 64 * 1024)
                    emit(op)
                }
                continue
            }
            var newline = i
            while newline < count && bytes[newline] != 0x0A { newline += 1 }
            let take = newline - i
            if line.count + take > NATSLimits.controlLineBytesMax + 1 { throw .controlLineTooLong }
            line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<newline]))
            i = newline
            if newline == count { break }
            i += 1  // past the newline
            if line.last == 0x0D { line.removeLast() }
            let op = try parseControlLine()
            line.removeAll(keepingCapacity: true)
            if let op { emit(op) }
        }
    }

    /// Convenience for tests and tools.
    public mutating func feed(_ bytes: [UInt8], _ emit: (NATSServerOp) -> Void) throws(NATSProtocolError) {
        var failure: NATSProtocolError?
        bytes.withUnsafeBytes { raw in
            do throws(NATSProtocolError) { try feed(raw, emit) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The operation of a complete control line, or nil when a MSG/HMSG body must follow.
    private mutating func parseControlLine() throws(NATSProtocolError) -> NATSServerOp? {
        if line.isEmpty { return nil }  // a stray CRLF between operations is harmless
        var verbEnd = 0
        while verbEnd < line.count && line[verbEnd] != 0x20 && line[verbEnd] != 0x09 { verbEnd += 1 }
        // The hot path (every delivered message) compares bytes, without a String for the verb.
        if Self.verbIs(line, verbEnd, "MSG") || Self.verbIs(line, verbEnd, "HMSG") {
            pending = try messageHeader(headers: verbEnd == 4, argumentsFrom: verbEnd)
            return nil
        }
        let verb = String(decoding: line[0..<verbEnd], as: UTF8.self).uppercased()
        let rest = line[verbEnd...]
        switch verb {
        case "PING": return .ping
        case "PONG": return .pong
        case "+OK": return .ok
        case "-ERR":
            var text = String(decoding: rest, as: UTF8.self).trimmingSpaces()
            if text.count >= 2, text.first == "'", text.last == "'" { text = text.dropFirst().dropLast() }
            return .err(String(text))
        case "INFO":
            guard let json = try? JSON.parse(rest), json.object != nil else {
                throw .malformedOperation("INFO")
            }
            return .info(json)
        default:
            throw .unknownOperation(String(verb.prefix(16)))
        }
    }

    /// True when `line[0..<end]` is `verb`, ignoring ASCII case (the protocol's verbs are case-insensitive).
    private static func verbIs(_ line: [UInt8], _ end: Int, _ verb: StaticString) -> Bool {
        guard end == verb.utf8CodeUnitCount else { return false }
        let expected = verb.utf8Start
        for index in 0..<end where line[index] | 0x20 != expected[index] | 0x20 { return false }
        return true
    }

    /// `MSG subject sid [reply] size` or `HMSG subject sid [reply] hsize size`, read from `line`
    /// after the verb: up to five fields located as ranges, numbers read from their bytes.
    private func messageHeader(headers: Bool, argumentsFrom start: Int) throws(NATSProtocolError) -> PendingMessage {
        let verb = headers ? "HMSG" : "MSG"
        var fields: [Range<Int>] = []
        fields.reserveCapacity(5)
        var index = start
        while index < line.count {
            while index < line.count && (line[index] == 0x20 || line[index] == 0x09) { index += 1 }
            if index == line.count { break }
            let fieldStart = index
            while index < line.count && line[index] != 0x20 && line[index] != 0x09 { index += 1 }
            if fields.count == 5 { throw .malformedOperation(verb) }
            fields.append(fieldStart..<index)
        }
        let sizes = headers ? 2 : 1
        guard fields.count == 2 + sizes || fields.count == 3 + sizes,
              let sid = number(fields[1], digitsMax: 18).flatMap({ UInt64(exactly: $0) }),
              let total = number(fields[fields.count - 1], digitsMax: 9) else { throw .malformedOperation(verb) }
        var headerBytes = 0
        if headers {
            guard let h = number(fields[fields.count - 2], digitsMax: 9), h <= total, h > 0 else { throw .malformedOperation(verb) }
            headerBytes = h
        }
        if total > payloadBytesMax { throw .payloadTooLarge(total) }
        let reply = fields.count == 3 + sizes ? String(decoding: line[fields[2]], as: UTF8.self) : nil
        return PendingMessage(subject: String(decoding: line[fields[0]], as: UTF8.self), sid: sid, reply: reply,
                              headerBytes: headerBytes, totalBytes: total)
    }

    /// The decimal number in `line[range]`: digits only, at most `digitsMax` of them (sizes: 9,
    /// under 1 GB and far above any `max_payload`; sids: 18, so no overflow of Int).
    private func number(_ range: Range<Int>, digitsMax: Int) -> Int? {
        guard !range.isEmpty, range.count <= digitsMax else { return nil }
        var value = 0
        for index in range {
            let digit = line[index] &- 0x30
            guard digit <= 9 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// The message whose body and CRLF are `body` (`totalBytes + 2` bytes).
    private func finish(_ message: PendingMessage, _ body: UnsafeRawBufferPointer) throws(NATSProtocolError) -> NATSServerOp {
        let total = message.totalBytes
        guard body[total] == 0x0D, body[total + 1] == 0x0A else { throw .missingPayloadTerminator }
        var headers: [(String, String)] = []
        var status: Int?
        if message.headerBytes > 0 {
            (status, headers) = try Self.parseHeaders(ArraySlice(UnsafeRawBufferPointer(rebasing: body[0..<message.headerBytes])))
        }
        let payload = Array(UnsafeRawBufferPointer(rebasing: body[message.headerBytes..<total]))
        return .msg(sid: message.sid, NATSMessage(subject: message.subject, reply: message.reply,
                                                  headers: headers, status: status, payload: payload))
    }

    /// Parses a header block: `NATS/1.0[ status[ description]]\r\n(Name: value\r\n)*\r\n`.
    /// Used for HMSG and for the `hdrs` of a JetStream stored message.
    public static func parseHeaders(_ block: ArraySlice<UInt8>) throws(NATSProtocolError) -> (status: Int?, headers: [(String, String)]) {
        var lines = splitLines(block)
        guard let first = lines.first, first.starts(with: Array("NATS/1.0".utf8)) else { throw .malformedHeaders }
        lines.removeFirst()
        var status: Int?
        let statusText = String(decoding: first.dropFirst(8), as: UTF8.self).trimmingSpaces()
        if !statusText.isEmpty {
            guard let code = Int(statusText.prefix(3)), (100...999).contains(code) else { throw .malformedHeaders }
            status = code
        }
        var headers: [(String, String)] = []
        for entry in lines where !entry.isEmpty {
            guard let colon = entry.firstIndex(of: UInt8(ascii: ":")), colon > entry.startIndex else { throw .malformedHeaders }
            if headers.count == NATSLimits.headerCountMax { throw .tooManyHeaders }
            let name = String(decoding: entry[entry.startIndex..<colon], as: UTF8.self)
            let value = String(decoding: entry[(colon + 1)...], as: UTF8.self).trimmingSpaces()
            headers.append((name, String(value)))
        }
        return (status, headers)
    }

    private static func splitLines(_ block: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = block.startIndex
        var i = block.startIndex
        while i < block.endIndex {
            if block[i] == 0x0A {
                var end = i
                if end > start && block[end - 1] == 0x0D { end -= 1 }
                lines.append(block[start..<end])
                start = i + 1
            }
            i += 1
        }
        if start < block.endIndex { lines.append(block[start...]) }
        return lines
    }
}
