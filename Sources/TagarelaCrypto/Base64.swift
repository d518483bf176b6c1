// Base64: RFC 4648 base64 (strict both ways, for WebSocket keys) and unpadded base64url (for session tokens).

/// Standard base64 with padding (RFC 4648 section 4), and the base64url encoding (section 5).
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Maps an ASCII byte to its 6-bit value, or 0xFF when it is not in the alphabet.
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(index) }
        return table
    }()

    /// Encodes `bytes`, padding with `=` to a multiple of four characters.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: encodeBytes(bytes), as: UTF8.self)
    }

    /// Encodes `bytes` to the ASCII bytes of the base64 text.
    public static func encodeBytes<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        encode(Array(bytes), alphabet: alphabet, padded: true)
    }

    /// RFC 4648 section 5 base64url without padding (section 3.2 allows leaving it out when the
    /// length is known): URL- and filename-safe, so 32 bytes become 43 characters.
    public static func encodeURL<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: encode(Array(bytes), alphabet: urlAlphabet, padded: false), as: UTF8.self)
    }

    /// The one encoder: three bytes to four symbols, and the one or two bytes left at the end
    /// to two or three symbols, padded with `=` to four when `padded`.
    private static func encode(_ input: [UInt8], alphabet: [UInt8], padded: Bool) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let n = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(n >> 18)])
            output.append(alphabet[Int((n >> 12) & 63)])
            output.append(alphabet[Int((n >> 6) & 63)])
            output.append(alphabet[Int(n & 63)])
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let n = UInt32(input[index]) << 16
            output.append(alphabet[Int(n >> 18)])
            output.append(alphabet[Int((n >> 12) & 63)])
            if padded { output.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "=")]) }
        } else if rest == 2 {
            let n = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(alphabet[Int(n >> 18)])
            output.append(alphabet[Int((n >> 12) & 63)])
            output.append(alphabet[Int((n >> 6) & 63)])
            if padded { output.append(UInt8(ascii: "=")) }
        }
        return output
    }

    /// Decodes strict base64: length a multiple of four, padding only at the end, no whitespace,
    /// and zero bits where padding leaves bits unused (RFC 4648 section 3.5, so that every byte
    /// string has exactly one encoding). Returns nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        decode(bytes: Array(text.utf8))
    }

    /// `decode(_:)` over the ASCII bytes of the text.
    public static func decode<C: Collection>(bytes: C) -> [UInt8]? where C.Element == UInt8 {
        let input = Array(bytes)
        guard input.count % 4 == 0 else { return nil }
        var output = [UInt8]()
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let c0 = reverse[Int(input[index])], c1 = reverse[Int(input[index + 1])]
            guard c0 != 0xFF, c1 != 0xFF else { return nil }
            let p2 = input[index + 2] == UInt8(ascii: "="), p3 = input[index + 3] == UInt8(ascii: "=")
            if isLast && p2 {
                // "xx==": one byte; the low four bits of the second symbol must be zero.
                guard p3, c1 & 0x0F == 0 else { return nil }
                output.append(c0 << 2 | c1 >> 4)
            } else if isLast && p3 {
                // "xxx=": two bytes; the low two bits of the third symbol must be zero.
                let c2 = reverse[Int(input[index + 2])]
                guard c2 != 0xFF, c2 & 0x03 == 0 else { return nil }
                output.append(c0 << 2 | c1 >> 4)
                output.append(c1 << 4 | c2 >> 2)
            } else {
                let c2 = reverse[Int(input[index + 2])], c3 = reverse[Int(input[index + 3])]
                guard c2 != 0xFF, c3 != 0xFF else { return nil }
                output.append(c0 << 2 | c1 >> 4)
                output.append(c1 << 4 | c2 >> 2)
                output.append(c2 << 6 | c3)
            }
            index += 4
        }
        return output
    }
}
