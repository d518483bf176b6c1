// TokenCodec: mints session tokens `<username>.<base64url>` and derives the hash under which they are stored.

import TagarelaCrypto

/// Tokens carry 256 random bits (PROTOCOL.md 2.1) after the username, so the gateway can route
/// `auth` by the part before the last dot. Only SHA-256 of the whole token is stored; that hex
/// digest is also the session id handed to the gateway.
enum TokenCodec {
    /// Random bytes per token: 256 bits.
    static let randomBytes = 32

    /// A new token for `username` from `random` bytes.
    static func mint(username: String, random: [UInt8]) -> String {
        username + "." + base64URL(random)
    }

    /// The stored form and session id of a token: lower-case hex SHA-256 of its UTF-8 bytes.
    static func sessionID(of token: String) -> String {
        hexString(SHA256.hash(Array(token.utf8)))
    }

    /// RFC 4648 section 5 base64url without padding (32 bytes -> 43 characters).
    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(alphabet[Int((v >> 6) & 63)])
            out.append(alphabet[Int(v & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(alphabet[Int((v >> 6) & 63)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes from lower-case or upper-case hex text; nil when malformed.
    static func bytes(fromHex hex: String) -> [UInt8]? {
        let u = Array(hex.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var i = 0
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
