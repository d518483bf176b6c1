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
        username + "." + Base64.encodeURL(random)
    }

    /// The stored form and session id of a token: lower-case hex SHA-256 of its UTF-8 bytes.
    static func sessionID(of token: String) -> String {
        hexString(SHA256.hash(Array(token.utf8)))
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
