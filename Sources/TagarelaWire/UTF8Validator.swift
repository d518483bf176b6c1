// UTF8Validator: incremental UTF-8 validation that carries a partial sequence across fragments.

/// Validates UTF-8 (RFC 3629) fed in pieces, rejecting at the first byte that cannot start or
/// continue a well-formed sequence.
///
/// Overlong forms, UTF-16 surrogates (U+D800-U+DFFF) and code points past U+10FFFF are invalid.
/// Rejection is as early as possible (the second byte of `ED A0` already fails), which is what
/// RFC 6455 section 8.1 and the Autobahn 6.x cases expect of a text message checked fragment by
/// fragment. The state is three bytes, so it costs nothing on an idle connection.
public struct UTF8Validator: Sendable, Equatable {
    /// Continuation bytes still needed by the current sequence.
    private var needed: UInt8 = 0
    /// Inclusive bounds of the next continuation byte (narrower right after some lead bytes).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF
    /// Set at the first invalid byte; sticky until `reset()`.
    public private(set) var hasFailed = false

    /// A validator at the start of a text.
    public init() {}

    /// True when everything fed so far is valid UTF-8 that does not end inside a sequence.
    public var isComplete: Bool { !hasFailed && needed == 0 }

    /// Starts over for a new text.
    public mutating func reset() { self = UTF8Validator() }

    /// Feeds the next piece; returns false as soon as the text can no longer be valid UTF-8
    /// (and on every later call).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !hasFailed else { return false }
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            if needed == 0 {
                // Fast path: skip ASCII eight bytes at a time.
                while index + 8 <= count,
                      base.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                }
                guard index < count else { break }
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                if byte < 0x80 { continue }
                if !start(byte) { hasFailed = true; return false }
            } else {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                guard byte >= lower && byte <= upper else { hasFailed = true; return false }
                needed -= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        return true
    }

    /// `feed(_:)` over any contiguous bytes.
    public mutating func feed<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ feed(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { feed($0) }
    }

    /// One-shot check of a whole text.
    public static func isValid<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var validator = UTF8Validator()
        return validator.feed(bytes) && validator.isComplete
    }

    /// Sets up the state after a lead byte (RFC 3629 section 4, the well-formed byte table);
    /// false when the byte cannot start a sequence (a stray continuation, C0/C1, F5-FF).
    private mutating func start(_ lead: UInt8) -> Bool {
        switch lead {
        case 0xC2...0xDF: needed = 1
        case 0xE0: needed = 2; lower = 0xA0                    // no overlong 3-byte forms
        case 0xE1...0xEC, 0xEE...0xEF: needed = 2
        case 0xED: needed = 2; upper = 0x9F                    // no surrogates
        case 0xF0: needed = 3; lower = 0x90                    // no overlong 4-byte forms
        case 0xF1...0xF3: needed = 3
        case 0xF4: needed = 3; upper = 0x8F                    // nothing past U+10FFFF
        default: return false
        }
        return true
    }
}
