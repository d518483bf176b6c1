// JSONParser: a strict single-pass RFC 8259 parser working directly on raw bytes.

extension JSON {
    /// Nesting allowed by default: deep enough for any real request, shallow enough that the
    /// recursive descent cannot exhaust the stack on hostile input (RFC 8259 section 9).
    public static let defaultMaxDepth = 64

    /// Parses exactly one JSON text (whitespace around it allowed) from `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONParseError(.unexpectedEnd, at: 0)
        }
        var parser = JSONParser(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    /// Parses exactly one JSON text from `bytes`.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        let r: Result<JSON, JSONParseError> = bytes.withUnsafeBytes { raw in
            do throws(JSONParseError) { return .success(try parse(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// Parses exactly one JSON text from a slice of bytes.
    public static func parse(_ bytes: ArraySlice<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        let r: Result<JSON, JSONParseError> = bytes.withUnsafeBytes { raw in
            do throws(JSONParseError) { return .success(try parse(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// Parses exactly one JSON text from UTF-8 text.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}

/// The recursive-descent state: a cursor over borrowed bytes. Never copies the input except
/// string contents that contain escapes.
struct JSONParser {
    let base: UnsafePointer<UInt8>
    let count: Int
    let maxDepth: Int
    var i = 0
    var depth = 0

    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.base = base
        self.count = count
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSON {
        skipWhitespace()
        let v = try parseValue()
        skipWhitespace()
        if i != count { throw JSONParseError(.trailingData, at: i) }
        return v
    }

    @inline(__always)
    mutating func skipWhitespace() {
        // RFC 8259 section 2: only space, tab, line feed and carriage return.
        while i < count {
            let c = base[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    mutating func parseValue() throws(JSONParseError) -> JSON {
        guard i < count else { throw JSONParseError(.unexpectedEnd, at: i) }
        switch base[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""):
            i += 1
            return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw JSONParseError(.unexpectedByte, at: i)
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        let p = word.utf8Start
        for k in 0..<n {
            guard i + k < count else { throw JSONParseError(.unexpectedEnd, at: count) }
            if base[i + k] != p[k] { throw JSONParseError(.unexpectedByte, at: i + k) }
        }
        i += n
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth { throw JSONParseError(.tooDeep, at: i) }
    }

    mutating func parseArray() throws(JSONParseError) -> JSON {
        try enter()
        i += 1
        var items: [JSON] = []
        skipWhitespace()
        if i < count && base[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard i < count else { throw JSONParseError(.unexpectedEnd, at: i) }
            let c = base[i]
            i += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "]") { break }
            throw JSONParseError(.unexpectedByte, at: i - 1)
        }
        depth -= 1
        return .array(items)
    }

    mutating func parseObject() throws(JSONParseError) -> JSON {
        try enter()
        i += 1
        var object = JSONObject()
        skipWhitespace()
        if i < count && base[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard i < count else { throw JSONParseError(.unexpectedEnd, at: i) }
            guard base[i] == UInt8(ascii: "\"") else { throw JSONParseError(.unexpectedByte, at: i) }
            let keyOffset = i
            i += 1
            let key = try parseString()
            if object.position(of: key) != nil { throw JSONParseError(.duplicateKey, at: keyOffset) }
            skipWhitespace()
            guard i < count else { throw JSONParseError(.unexpectedEnd, at: i) }
            guard base[i] == UInt8(ascii: ":") else { throw JSONParseError(.unexpectedByte, at: i) }
            i += 1
            skipWhitespace()
            let value = try parseValue()
            object.appendUnchecked(key, value)
            skipWhitespace()
            guard i < count else { throw JSONParseError(.unexpectedEnd, at: i) }
            let c = base[i]
            i += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "}") { break }
            throw JSONParseError(.unexpectedByte, at: i - 1)
        }
        depth -= 1
        return .object(object)
    }

    /// Number grammar of RFC 8259 section 6. Plain integers are accumulated exactly; anything
    /// with a fraction, an exponent or beyond Int64 goes through the standard library's
    /// correctly rounded text-to-double conversion.
    mutating func parseNumber() throws(JSONParseError) -> JSON {
        let start = i
        var negative = false
        if base[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        guard i < count else { throw JSONParseError(.unexpectedEnd, at: i) }
        var value: UInt64 = 0
        var overflow = false
        if base[i] == UInt8(ascii: "0") {
            i += 1
        } else if base[i] >= UInt8(ascii: "1") && base[i] <= UInt8(ascii: "9") {
            while i < count, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(UInt64(base[i] - UInt8(ascii: "0")))
                if o1 || o2 { overflow = true }
                value = s
                i += 1
            }
        } else {
            throw JSONParseError(.invalidNumber, at: i)
        }
        var isInteger = true
        if i < count && base[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            try digits()
        }
        if i < count && (base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E")) {
            isInteger = false
            i += 1
            if i < count && (base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-")) { i += 1 }
            try digits()
        }
        if isInteger && !overflow {
            if negative {
                if value <= UInt64(Int64.max) + 1 { return .int(value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)) }
            } else if value <= UInt64(Int64.max) {
                return .int(Int64(value))
            }
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw JSONParseError(.invalidNumber, at: start) }
        return .double(d)
    }

    mutating func digits() throws(JSONParseError) {
        let start = i
        while i < count, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") { i += 1 }
        if i == start {
            if i == count { throw JSONParseError(.unexpectedEnd, at: i) }
            throw JSONParseError(.invalidNumber, at: i)
        }
    }

    /// Parses string contents after the opening quote. The fast path scans unescaped text and
    /// builds the String straight from the input bytes; an escape switches to a copying path.
    mutating func parseString() throws(JSONParseError) -> String {
        let start = i
        while i < count {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") {
                return try parseEscapedString(from: start)
            }
            if c < 0x20 { throw JSONParseError(.controlCharacter, at: i) }
            if c < 0x80 { i += 1 } else { try validateUTF8Sequence() }
        }
        throw JSONParseError(.unexpectedEnd, at: i)
    }

    mutating func parseEscapedString(from start: Int) throws(JSONParseError) -> String {
        var out = [UInt8](UnsafeBufferPointer(start: base + start, count: i - start))
        out.reserveCapacity(out.count + 32)
        while i < count {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") {
                try parseEscape(into: &out)
            } else if c < 0x20 {
                throw JSONParseError(.controlCharacter, at: i)
            } else if c < 0x80 {
                out.append(c)
                i += 1
            } else {
                let s = i
                try validateUTF8Sequence()
                out.append(contentsOf: UnsafeBufferPointer(start: base + s, count: i - s))
            }
        }
        throw JSONParseError(.unexpectedEnd, at: i)
    }

    /// One escape (RFC 8259 section 7), `i` at the backslash.
    mutating func parseEscape(into out: inout [UInt8]) throws(JSONParseError) {
        let at = i
        i += 1
        guard i < count else { throw JSONParseError(.unexpectedEnd, at: i) }
        let e = base[i]
        i += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // A high surrogate must be followed by an escaped low surrogate (section 7).
                guard i + 1 < count, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") else {
                    throw JSONParseError(.invalidSurrogate, at: at)
                }
                i += 2
                let low = try hex4()
                guard low >= 0xDC00 && low <= 0xDFFF else { throw JSONParseError(.invalidSurrogate, at: at) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw JSONParseError(.invalidSurrogate, at: at)
            }
            JSONParser.appendUTF8(scalar, to: &out)
        default:
            throw JSONParseError(.invalidEscape, at: at)
        }
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard i < count else { throw JSONParseError(.unexpectedEnd, at: i) }
            let c = base[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw JSONParseError(.invalidEscape, at: i)
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    static func appendUTF8(_ s: UInt32, to out: inout [UInt8]) {
        if s < 0x80 {
            out.append(UInt8(s))
        } else if s < 0x800 {
            out.append(UInt8(0xC0 | (s >> 6)))
            out.append(UInt8(0x80 | (s & 0x3F)))
        } else if s < 0x10000 {
            out.append(UInt8(0xE0 | (s >> 12)))
            out.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (s & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (s >> 18)))
            out.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (s & 0x3F)))
        }
    }

    /// Checks one multi-byte UTF-8 sequence at `i` against RFC 3629 section 4 (no overlongs,
    /// no surrogates, nothing past U+10FFFF) and steps over it.
    @inline(__always)
    mutating func validateUTF8Sequence() throws(JSONParseError) {
        let b0 = base[i]
        let need: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: throw JSONParseError(.invalidUTF8, at: i)
        }
        guard i + need < count else { throw JSONParseError(.invalidUTF8, at: i) }
        let b1 = base[i + 1]
        guard b1 >= lo && b1 <= hi else { throw JSONParseError(.invalidUTF8, at: i) }
        var k = 2
        while k <= need {
            let b = base[i + k]
            guard b >= 0x80 && b <= 0xBF else { throw JSONParseError(.invalidUTF8, at: i) }
            k += 1
        }
        i += need + 1
    }
}
