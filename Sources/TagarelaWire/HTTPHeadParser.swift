// HTTPHeadParser: incremental parser of an HTTP/1.x request head, bounded to the head limit.

/// Parses one request head (RFC 9112 sections 2-5) from bytes that may arrive in any split.
///
/// Nothing is buffered while the whole head arrives in one read; otherwise the bytes so far are
/// kept, never more than the head limit: past it the answer is `431` before more is stored.
/// Lines end in CRLF; a bare LF is tolerated (RFC 9112 section 2.2), a bare CR is not.
/// Obsolete line folding is refused with `400` (RFC 9112 section 5.2 allows that for a server).
public struct HTTPHeadParser {
    /// What the bytes so far amount to.
    public enum Result: Equatable {
        /// The head is not complete yet.
        case needMore
        /// The head is complete; `consumed` bytes of the latest input belong to it and the rest
        /// (a client may send frames right after its handshake) belongs to what follows.
        case complete(HTTPRequestHead, consumed: Int)
        /// The head is refused; answer with `error.status` and close.
        case failed(HTTPError)
    }

    private let headBytesMax: Int
    private let headerCountMax: Int
    /// The head so far, only when it spans several inputs.
    private var buffer: [UInt8] = []
    /// Position in the end-of-head search: 0 inside a line, 1 right after LF, 2 after LF CR.
    private var scanState: UInt8 = 0
    private var finished = false

    /// A parser bounded by `limits.httpHeadBytesMax` and `limits.httpHeaderCountMax`.
    public init(limits: Limits = .default) {
        headBytesMax = limits.httpHeadBytesMax
        headerCountMax = limits.httpHeaderCountMax
    }

    /// Bytes kept between inputs (for tests and memory accounting).
    public var bufferedCount: Int { buffer.count }

    /// Feeds the next bytes. After `.complete` or `.failed` the parser is spent: feeding it
    /// again is a programmer error.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Result {
        precondition(!finished, "HTTPHeadParser fed after it finished")
        let room = headBytesMax - buffer.count
        let scanCount = min(bytes.count, room)
        var end = -1
        for index in 0..<scanCount where advanceScan(bytes[index]) {
            end = index
            break
        }
        guard end >= 0 else {
            if bytes.count >= room {
                return fail(HTTPError(status: 431, reason: "request head larger than \(headBytesMax) bytes"))
            }
            buffer.append(contentsOf: bytes)
            return .needMore
        }
        let consumed = end + 1
        let result: Result
        if buffer.isEmpty {
            result = parseHead(UnsafeRawBufferPointer(rebasing: bytes[0..<consumed]), consumed: consumed)
        } else {
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<consumed]))
            let whole = buffer
            buffer = []
            result = whole.withUnsafeBytes { parseHead($0, consumed: consumed) }
        }
        finished = true
        return result
    }

    /// `feed(_:)` over any contiguous bytes.
    public mutating func feed<C: Collection>(_ bytes: C) -> Result where C.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ feed(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { feed($0) }
    }

    /// Advances the search for the empty line that ends the head; true at its final LF.
    private mutating func advanceScan(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\n"):
            if scanState != 0 { return true }
            scanState = 1
        case UInt8(ascii: "\r"):
            scanState = scanState == 1 ? 2 : 0
        default:
            scanState = 0
        }
        return false
    }

    private mutating func fail(_ error: HTTPError) -> Result {
        finished = true
        buffer = []
        return .failed(error)
    }

    /// Parses a complete head, from the request line to the empty line included.
    private func parseHead(_ head: UnsafeRawBufferPointer, consumed: Int) -> Result {
        var lines: [UnsafeRawBufferPointer.SubSequence] = []
        var lineStart = 0
        for index in 0..<head.count where head[index] == UInt8(ascii: "\n") {
            var lineEnd = index
            if lineEnd > lineStart && head[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            lines.append(head[lineStart..<lineEnd])
            lineStart = index + 1
        }
        // RFC 9112 section 2.2: a server SHOULD ignore empty lines before the request line.
        while let first = lines.first, first.isEmpty { lines.removeFirst() }
        guard let requestLine = lines.first else { return .failed(HTTPError(status: 400, reason: "empty request")) }
        let fieldLines = lines.dropFirst().dropLast()  // the last line is the empty one ending the head
        guard fieldLines.count <= headerCountMax else {
            return .failed(HTTPError(status: 431, reason: "more than \(headerCountMax) header fields"))
        }
        do {
            var head = try parseRequestLine(requestLine)
            head.headers.reserveCapacity(fieldLines.count)
            for line in fieldLines { head.headers.append(try parseField(line)) }
            return .complete(head, consumed: consumed)
        } catch {
            return .failed(error)
        }
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 section 3).
    private func parseRequestLine(_ line: UnsafeRawBufferPointer.SubSequence) throws(HTTPError) -> HTTPRequestHead {
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw HTTPError(status: 400, reason: "malformed request line") }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy(HTTPHeadParser.isTokenByte) else {
            throw HTTPError(status: 400, reason: "malformed method")
        }
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPError(status: 400, reason: "malformed request target")
        }
        let v = Array(version)
        guard v.count == 8, v.starts(with: Array("HTTP/".utf8)), isDigit(v[5]), v[6] == UInt8(ascii: "."), isDigit(v[7]) else {
            throw HTTPError(status: 400, reason: "malformed HTTP version")
        }
        guard v[5] == UInt8(ascii: "1") else {
            throw HTTPError(status: 505, reason: "only HTTP/1.x is supported on this port")
        }
        return HTTPRequestHead(method: String(decoding: method, as: UTF8.self),
                               target: String(decoding: target, as: UTF8.self),
                               version: HTTPVersion(major: Int(v[5] - 48), minor: Int(v[7] - 48)),
                               headers: [])
    }

    /// `field-name ":" OWS field-value OWS` (RFC 9112 section 5).
    private func parseField(_ line: UnsafeRawBufferPointer.SubSequence) throws(HTTPError) -> (name: String, value: String) {
        guard let first = line.first else { throw HTTPError(status: 400, reason: "malformed header field") }
        if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
            throw HTTPError(status: 400, reason: "obsolete header line folding is not allowed")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw HTTPError(status: 400, reason: "header field without a colon")
        }
        let name = line[line.startIndex..<colon]
        // RFC 9112 section 5.1: no whitespace between the name and the colon, answer 400.
        guard !name.isEmpty, name.allSatisfy(HTTPHeadParser.isTokenByte) else {
            throw HTTPError(status: 400, reason: "malformed header field name")
        }
        var value = line[(colon + 1)...]
        while let byte = value.first, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { value = value.dropFirst() }
        while let byte = value.last, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { value = value.dropLast() }
        // RFC 9110 section 5.5: field values are visible characters, spaces, tabs and obs-text.
        guard value.allSatisfy({ $0 == UInt8(ascii: "\t") || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw HTTPError(status: 400, reason: "control character in a header field value")
        }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// `tchar` of RFC 9110 section 5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
