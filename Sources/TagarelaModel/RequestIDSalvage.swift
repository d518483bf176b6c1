// RequestIDSalvage: reads the request_id of a request the strict JSON parser refused, when it can be read for certain.

/// PROTOCOL.md 2 and 3.4 ask for the `request_id` of a malformed request "when one could be read",
/// so that a client can tell which of its requests failed; anything less certain gives nil.
enum RequestIDSalvage {
    /// The first `"request_id"` key followed by a plain string (no escapes, no control
    /// characters) of at most `FieldLimits.idMax` characters, or nil.
    static func read(_ bytes: UnsafeRawBufferPointer) -> String? {
        let key = Array(#""request_id""#.utf8)
        guard bytes.count > key.count else { return nil }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        var i = 0
        search: while i + key.count <= bytes.count {
            for j in 0..<key.count where bytes[i + j] != key[j] {
                i += 1
                continue search
            }
            var k = i + key.count
            while k < bytes.count, isSpace(bytes[k]) { k += 1 }
            guard k < bytes.count, bytes[k] == UInt8(ascii: ":") else { return nil }
            k += 1
            while k < bytes.count, isSpace(bytes[k]) { k += 1 }
            guard k < bytes.count, bytes[k] == UInt8(ascii: "\"") else { return nil }
            let start = k + 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
                end += 1
            }
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
            guard let id = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self),
                  FieldRules.hasAtMost(id, FieldLimits.idMax) else { return nil }
            return id
        }
        return nil
    }
}
