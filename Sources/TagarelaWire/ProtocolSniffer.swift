// ProtocolSniffer: decides from a connection's first bytes whether it speaks HTTP or raw NDJSON.

/// Incremental detection of HTTP versus raw NDJSON over the first bytes of a connection
/// (PROTOCOL.md 1).
///
/// The connection is HTTP once its bytes start with a method token and a space (`GET `,
/// `HEAD `, ... `TRACE `), and raw as soon as they cannot: raw NDJSON starts with `{` or
/// whitespace, never with an upper-case letter. The bytes may arrive one at a time; the
/// sniffer keeps only a candidate bitmask and a count, no buffer. It does not consume input:
/// the caller replays the bytes into the chosen parser (see `earlierBytes`).
public struct ProtocolSniffer: Sendable {
    /// What the bytes so far say.
    public enum Result: Equatable, Sendable {
        /// Every byte so far is a prefix of some `METHOD `: feed more.
        case needMore
        /// The bytes start with an HTTP method token and a space.
        case http
        /// The bytes cannot be HTTP.
        case raw
    }

    /// The methods of RFC 9110 section 9 plus PATCH (RFC 5789), each followed by its space.
    private static let methods: [[UInt8]] = ["GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ",
                                             "PATCH ", "CONNECT ", "TRACE "].map { Array($0.utf8) }
    private static let allCandidates: UInt16 = (1 << 9) - 1

    /// Bit i set while `methods[i]` still matches every byte seen.
    private var candidates: UInt16 = ProtocolSniffer.allCandidates
    /// Bytes seen while the answer was `.needMore`.
    private var matched: UInt8 = 0
    /// The answer once known; sticky.
    private var decided: Result = .needMore
    /// `candidates` and `matched` as they were when the latest `feed` began.
    private var candidatesBefore: UInt16 = ProtocolSniffer.allCandidates
    private var matchedBefore: UInt8 = 0

    /// A sniffer that has seen nothing.
    public init() {}

    /// Feeds the next bytes; once the answer is `.http` or `.raw` it never changes and later
    /// calls return it without reading.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Result {
        guard decided == .needMore else { return decided }
        candidatesBefore = candidates
        matchedBefore = matched
        for byte in bytes {
            let position = Int(matched)
            var next: UInt16 = 0
            for index in 0..<ProtocolSniffer.methods.count where candidates & (1 << index) != 0 {
                let method = ProtocolSniffer.methods[index]
                if method[position] == byte {
                    if position + 1 == method.count {
                        decided = .http
                        return decided
                    }
                    next |= 1 << index
                }
            }
            candidates = next
            guard candidates != 0 else {
                decided = .raw
                return decided
            }
            matched += 1
        }
        return decided
    }

    /// `feed(_:)` over any contiguous bytes.
    public mutating func feed<C: Collection>(_ bytes: C) -> Result where C.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ feed(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { feed($0) }
    }

    /// The bytes given to the calls of `feed` before the latest one, which all answered
    /// `.needMore`: a proper prefix of a method token and its space, so at most 7 bytes, rebuilt
    /// from the state. A caller that drops its read buffer after each read prepends them to the
    /// latest bytes when it hands the connection to the chosen parser.
    public var earlierBytes: [UInt8] {
        guard matchedBefore > 0 else { return [] }
        let first = candidatesBefore.trailingZeroBitCount
        return Array(ProtocolSniffer.methods[first].prefix(Int(matchedBefore)))
    }
}
