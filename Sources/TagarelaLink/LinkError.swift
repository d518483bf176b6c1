// LinkError: the ways a link byte stream can break the frame rules, each fatal to the link.

/// Why the link decoder refused its input. Every case means the peer is broken (the link is
/// between our own processes), so the owner closes the link and lets the supervisor act.
public enum LinkError: Error, Equatable, CustomStringConvertible {
    /// The length prefix announced more than the decoder's limit; refused before any body is buffered.
    case frameTooLarge(length: Int, max: Int)
    /// A length prefix of 0: every frame has at least its type byte.
    case emptyFrame
    /// A type byte that is not a `LinkFrame.Kind`.
    case unknownType(UInt8)
    /// A field (or a list count) runs past the end of its frame; `offset` is within the frame body.
    case truncatedField(offset: Int)
    /// A string field is not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// The frame is longer than its fields: `count` bytes were left over.
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .frameTooLarge(let length, let max): return "link frame of \(length) bytes exceeds the limit of \(max)"
        case .emptyFrame: return "link frame of length 0"
        case .unknownType(let type): return "unknown link frame type \(type)"
        case .truncatedField(let offset): return "link frame field truncated at body offset \(offset)"
        case .invalidUTF8(let offset): return "invalid UTF-8 in link string at body offset \(offset)"
        case .trailingBytes(let count): return "\(count) trailing bytes after link frame fields"
        }
    }
}
