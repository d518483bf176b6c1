// JSONParseError: why and where a byte sequence is not one valid JSON text.

/// A parse failure: the broken rule and the byte offset where it was found.
public struct JSONParseError: Error, Equatable, CustomStringConvertible {
    /// The rule of RFC 8259 (or of this parser's limits) that the input broke.
    public enum Kind: String, Equatable, Sendable {
        /// The input ended inside a value (or was empty).
        case unexpectedEnd
        /// A byte that cannot start or continue the value here (RFC 8259 section 2).
        case unexpectedByte
        /// A number outside the grammar of section 6, or not finite as a double.
        case invalidNumber
        /// An escape other than those of section 7, or a bad `\u` sequence.
        case invalidEscape
        /// A lone or misordered UTF-16 surrogate in a `\u` escape (section 7, 8.2).
        case invalidSurrogate
        /// A raw control character (below U+0020) inside a string (section 7).
        case controlCharacter
        /// Bytes that are not well-formed UTF-8 (section 8.1, RFC 3629).
        case invalidUTF8
        /// More nested arrays and objects than the depth limit allows (section 9).
        case tooDeep
        /// The same key twice in one object: refused so that no two readers disagree on it.
        case duplicateKey
        /// Anything but whitespace after the value.
        case trailingData
    }

    /// The broken rule.
    public var kind: Kind
    /// Byte offset into the input.
    public var offset: Int

    /// Makes an error.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// Short text for logs and error messages.
    public var description: String { "\(kind.rawValue) at byte \(offset)" }
}
