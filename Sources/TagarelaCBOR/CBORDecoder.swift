// CBORDecoder: a strict RFC 8949 decoder of one complete item into the JSON value tree the JSON parser produces.
import TagarelaCrypto
import TagarelaJSON
import TagarelaWire

extension JSON {
    /// Decodes exactly one CBOR item (a whole WebSocket message) from `bytes`.
    ///
    /// The subset is the JSON model's (PROTOCOL.md 3.7): unsigned and negative integers within
    /// Int64, half, single and double floats that are finite, text strings of valid UTF-8,
    /// definite-length arrays and maps with unique text keys, false, true and null; byte strings
    /// only where `byteStrings` allows them, as base64 text. No tags, no indefinite lengths.
    /// Nesting is bounded by `maxDepth` exactly as for JSON, and a length is checked against the
    /// bytes left before anything is allocated, so memory stays proportional to the input.
    public static func decodeCBOR(_ bytes: UnsafeRawBufferPointer, byteStrings: CBORByteStrings = .refused,
                                  maxDepth: Int = JSON.defaultMaxDepth) throws(CBORDecodeError) -> JSON {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw CBORDecodeError(.unexpectedEnd, at: 0) }
        var decoder = CBORDecoder(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count,
                                  byteStrings: byteStrings, maxDepth: maxDepth)
        let value = try decoder.item()
        if decoder.i != bytes.count { throw CBORDecodeError(.trailingData, at: decoder.i) }
        return value
    }

    /// Decodes exactly one CBOR item from `bytes`.
    public static func decodeCBOR(_ bytes: [UInt8], byteStrings: CBORByteStrings = .refused,
                                  maxDepth: Int = JSON.defaultMaxDepth) throws(CBORDecodeError) -> JSON {
        let r: Result<JSON, CBORDecodeError> = bytes.withUnsafeBytes { raw in
            do throws(CBORDecodeError) {
                return .success(try decodeCBOR(raw, byteStrings: byteStrings, maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        return try r.get()
    }
}

/// The recursive-descent state: a cursor over borrowed bytes, and the key path of the item being
/// read (kept only when some byte-string paths are configured).
struct CBORDecoder {
    let base: UnsafePointer<UInt8>
    let count: Int
    let byteStrings: CBORByteStrings
    let maxDepth: Int
    let tracksPath: Bool
    var i = 0
    var depth = 0
    /// Map keys from the top-level item down; nil for an array element (never a byte path).
    var path: [String?] = []

    init(base: UnsafePointer<UInt8>, count: Int, byteStrings: CBORByteStrings, maxDepth: Int) {
        self.base = base
        self.count = count
        self.byteStrings = byteStrings
        self.maxDepth = maxDepth
        if case .base64 = byteStrings { tracksPath = true } else { tracksPath = false }
    }

    /// One data item (RFC 8949 section 3): the initial byte's major type and additional information.
    mutating func item() throws(CBORDecodeError) -> JSON {
        let start = i
        guard i < count else { throw CBORDecodeError(.unexpectedEnd, at: i) }
        let initial = base[i]
        i += 1
        let major = initial >> 5
        let info = initial & 0x1F
        if major == 7 { return try simpleOrFloat(info, at: start) }
        let argument = try self.argument(info, at: start)
        switch major {
        case 0:
            guard argument <= UInt64(Int64.max) else { throw CBORDecodeError(.integerOutOfRange, at: start) }
            return .int(Int64(argument))
        case 1:
            // Section 3.1: the value is -1 - argument; Int64.min is -1 - Int64.max.
            guard argument <= UInt64(Int64.max) else { throw CBORDecodeError(.integerOutOfRange, at: start) }
            return .int(-1 - Int64(argument))
        case 2:
            let bytes = try span(argument, at: start)
            let allowed: Bool
            switch byteStrings {
            case .refused: allowed = false
            case .base64Anywhere: allowed = true
            case .base64: allowed = byteStrings.isBytePath(path)
            }
            guard allowed else { throw CBORDecodeError(.byteStringNotAllowed, at: start) }
            return .string(Base64.encode(bytes))
        case 3:
            if tracksPath && byteStrings.isBytePath(path) { throw CBORDecodeError(.byteStringExpected, at: start) }
            return .string(try text(argument, at: start))
        case 4:
            return try array(argument, at: start)
        case 5:
            return try map(argument, at: start)
        default:
            throw CBORDecodeError(.tagNotAllowed, at: start)
        }
    }

    /// The argument of a head (section 3): the additional information itself below 24, else the
    /// 1, 2, 4 or 8 bytes that follow, big-endian. Non-preferred (longer) forms are well-formed
    /// and accepted (section 4.1 asks encoders, not decoders, for the shortest).
    mutating func argument(_ info: UInt8, at start: Int) throws(CBORDecodeError) -> UInt64 {
        switch info {
        case 0..<24: return UInt64(info)
        case 24: return try bigEndian(1, at: start)
        case 25: return try bigEndian(2, at: start)
        case 26: return try bigEndian(4, at: start)
        case 27: return try bigEndian(8, at: start)
        case 31: throw CBORDecodeError(.indefiniteLength, at: start)
        default: throw CBORDecodeError(.reservedAdditionalInfo, at: start)
        }
    }

    mutating func bigEndian(_ n: Int, at start: Int) throws(CBORDecodeError) -> UInt64 {
        guard count - i >= n else { throw CBORDecodeError(.unexpectedEnd, at: count) }
        var v: UInt64 = 0
        for k in 0..<n { v = v << 8 | UInt64(base[i + k]) }
        i += n
        return v
    }

    /// `length` bytes of string content, checked against the input before use.
    mutating func span(_ length: UInt64, at start: Int) throws(CBORDecodeError) -> UnsafeBufferPointer<UInt8> {
        guard length <= UInt64(count - i) else { throw CBORDecodeError(.unexpectedEnd, at: count) }
        let bytes = UnsafeBufferPointer(start: base + i, count: Int(length))
        i += Int(length)
        return bytes
    }

    mutating func text(_ length: UInt64, at start: Int) throws(CBORDecodeError) -> String {
        let bytes = try span(length, at: start)
        guard UTF8Validator.isValid(bytes) else { throw CBORDecodeError(.invalidUTF8, at: start) }
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func enter(at start: Int) throws(CBORDecodeError) {
        depth += 1
        if depth > maxDepth { throw CBORDecodeError(.tooDeep, at: start) }
    }

    mutating func array(_ length: UInt64, at start: Int) throws(CBORDecodeError) -> JSON {
        try enter(at: start)
        // Every element takes at least one byte: a longer count cannot be honest.
        guard length <= UInt64(count - i) else { throw CBORDecodeError(.unexpectedEnd, at: count) }
        var items: [JSON] = []
        items.reserveCapacity(Int(length))
        if tracksPath { path.append(nil) }
        for _ in 0..<Int(length) { items.append(try item()) }
        if tracksPath { path.removeLast() }
        depth -= 1
        return .array(items)
    }

    mutating func map(_ length: UInt64, at start: Int) throws(CBORDecodeError) -> JSON {
        try enter(at: start)
        // Every pair takes at least two bytes.
        guard length <= UInt64(count - i) / 2 else { throw CBORDecodeError(.unexpectedEnd, at: count) }
        var object = JSONObject()
        for _ in 0..<Int(length) {
            let keyStart = i
            guard i < count else { throw CBORDecodeError(.unexpectedEnd, at: i) }
            let initial = base[i]
            guard initial >> 5 == 3 else { throw CBORDecodeError(.nonTextKey, at: keyStart) }
            i += 1
            let key = try text(try argument(initial & 0x1F, at: keyStart), at: keyStart)
            // Keys compare by their bytes, as the JSON parser compares them (RFC 8949 section 5.6).
            if object.position(of: key) != nil { throw CBORDecodeError(.duplicateKey, at: keyStart) }
            if tracksPath { path.append(key) }
            let value = try item()
            if tracksPath { path.removeLast() }
            object[key] = value
        }
        depth -= 1
        return .object(object)
    }

    /// Major type 7 (section 3.3): false, true, null and finite floats of any width.
    mutating func simpleOrFloat(_ info: UInt8, at start: Int) throws(CBORDecodeError) -> JSON {
        let d: Double
        switch info {
        case 20: return .bool(false)
        case 21: return .bool(true)
        case 22: return .null
        case 25: d = CBORFloat.double(fromHalf: UInt16(try bigEndian(2, at: start)))
        case 26: d = Double(Float(bitPattern: UInt32(try bigEndian(4, at: start))))
        case 27: d = Double(bitPattern: try bigEndian(8, at: start))
        case 28, 29, 30: throw CBORDecodeError(.reservedAdditionalInfo, at: start)
        case 31: throw CBORDecodeError(.indefiniteLength, at: start)
        case 24:
            // simple(32..255) is well-formed but unassigned here; simple(0..31) in two bytes is
            // not well-formed at all (section 3.3). Both are refused, after the byte is there.
            _ = try bigEndian(1, at: start)
            throw CBORDecodeError(.simpleValueNotAllowed, at: start)
        default:
            throw CBORDecodeError(.simpleValueNotAllowed, at: start)
        }
        guard d.isFinite else { throw CBORDecodeError(.nonFiniteFloat, at: start) }
        return .double(d)
    }
}
