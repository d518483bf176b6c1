// CBORByteStrings: where a CBOR byte string may stand in for the base64 text of the JSON protocol.

/// A key path from the top-level map: `["attachment", "data"]` is the member `data` of the
/// member `attachment` of the top-level map; `[]` is the top-level item itself. A path never
/// goes through an array.
public typealias CBORKeyPath = [String]

/// Where byte strings are allowed, and how they map to the JSON model.
///
/// The JSON protocol carries binary data as standard padded base64 text (RFC 4648 section 4);
/// CBOR carries the same data as a byte string (major type 2) in the same place. The codec
/// turns one into the other only at the places the protocol names, so the rest of the server
/// sees one `JSON` tree whichever encoding the client speaks.
public enum CBORByteStrings: Sendable, Equatable {
    /// No byte string anywhere.
    case refused
    /// A byte string only at one of these paths, where it becomes base64 text; a text string
    /// at one of them is refused too (the bytes come as bytes, never as base64 in CBOR).
    case base64(at: [CBORKeyPath])
    /// A byte string anywhere becomes base64 text (test and benchmark clients reading replies).
    case base64Anywhere

    /// True when `path` is a byte-string place; `nil` entries (array elements) never match.
    func isBytePath(_ path: [String?]) -> Bool {
        guard case .base64(let paths) = self else { return false }
        for p in paths where p.count == path.count {
            var same = true
            for i in 0..<p.count where path[i] != p[i] {
                same = false
                break
            }
            if same { return true }
        }
        return false
    }
}
