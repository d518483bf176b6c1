// CBORDecodeError: why and where a byte sequence is not one CBOR item of the protocol's strict subset.

/// A decode failure: the broken rule and the byte offset where it was found.
public struct CBORDecodeError: Error, Equatable, CustomStringConvertible {
    /// The rule of RFC 8949 (or of the protocol's subset of it, PROTOCOL.md 3.7) that the input broke.
    public enum Kind: String, Equatable, Sendable {
        /// The input ended inside an item (or was empty), or a length claims more than is left:
        /// such a claim is refused before anything is allocated for it (a 9-byte head may
        /// announce 2^64 elements).
        case unexpectedEnd
        /// Bytes after the one top-level item (section 5.1: a message is one item).
        case trailingData
        /// Additional information 28-30, reserved (section 3).
        case reservedAdditionalInfo
        /// An indefinite length or a lone "break" (section 3.2): clients send definite lengths.
        case indefiniteLength
        /// A tag (section 3.4): the protocol uses none.
        case tagNotAllowed
        /// A simple value other than false, true and null (section 3.3): `undefined` and
        /// `simple(n)` have no JSON counterpart.
        case simpleValueNotAllowed
        /// A float that is infinite or NaN: JSON has no such number (RFC 8259 section 6).
        case nonFiniteFloat
        /// An integer outside Int64, which the JSON model keeps exact (section 3.1).
        case integerOutOfRange
        /// A text string that is not valid UTF-8 (section 3.1, major type 3).
        case invalidUTF8
        /// A map key that is not a text string: JSON objects have text keys only.
        case nonTextKey
        /// The same key twice in one map (section 5.6): refused so no two readers disagree.
        case duplicateKey
        /// More nested arrays and maps than the depth limit allows (as for JSON).
        case tooDeep
        /// A byte string where the protocol has none (only attachment data is bytes).
        case byteStringNotAllowed
        /// A text string where the protocol wants a byte string (attachment data).
        case byteStringExpected
    }

    /// The broken rule.
    public var kind: Kind
    /// Byte offset into the input of the item's first byte.
    public var offset: Int

    /// Makes an error.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// Short text for logs and error messages.
    public var description: String { "\(kind.rawValue) at byte \(offset)" }
}
