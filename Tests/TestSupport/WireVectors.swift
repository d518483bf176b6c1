// WireVectors: published test vectors for the wire layer (RFC 6455, FIPS 180-4, RFC 4648).

/// Test vectors from the RFCs and FIPS, shared by the wire tests and anyone testing against them.
public enum WireVectors {
    /// RFC 6455 section 1.3: the sample key and its accept value.
    public static let handshakeKey = "dGhlIHNhbXBsZSBub25jZQ=="
    public static let handshakeAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    /// RFC 6455 section 5.7: the masking key used by the masked examples.
    public static let exampleMaskKey: UInt32 = 0x37FA_213D

    /// RFC 6455 section 5.7: a single-frame unmasked text message "Hello".
    public static let unmaskedHello: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
    /// RFC 6455 section 5.7: a single-frame masked text message "Hello".
    public static let maskedHello: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
    /// RFC 6455 section 5.7: a fragmented unmasked text message, "Hel" then "lo".
    public static let fragmentedHel: [UInt8] = [0x01, 0x03, 0x48, 0x65, 0x6C]
    public static let fragmentedLo: [UInt8] = [0x80, 0x02, 0x6C, 0x6F]
    /// RFC 6455 section 5.7: an unmasked ping with body "Hello".
    public static let unmaskedPingHello: [UInt8] = [0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
    /// RFC 6455 section 5.7: a masked pong with body "Hello".
    public static let maskedPongHello: [UInt8] = [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
    /// RFC 6455 section 5.7: the header of a 256-byte unmasked binary message (16-bit length).
    public static let binary256Header: [UInt8] = [0x82, 0x7E, 0x01, 0x00]
    /// RFC 6455 section 5.7: the header of a 64 KiB unmasked binary message (64-bit length).
    public static let binary64KiBHeader: [UInt8] = [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]

    /// FIPS 180-4 examples (and the NIST long-message test): message, SHA-1 hex digest.
    public static let sha1: [(message: String, digest: String)] = [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "a49b2446a02c645bf419f995b67091253a04a259"),
    ]
    /// SHA-1 of one million "a" (FIPS 180 appendix A.3).
    public static let sha1MillionA = "34aa973cd4c4daa4f61eeb2bdbad27316534016f"

    /// RFC 4648 section 10: plain text and its base64.
    public static let base64: [(plain: String, encoded: String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    /// Well-formed UTF-8 at the edges of each sequence length (RFC 3629 section 4).
    public static let validUTF8: [[UInt8]] = [
        [], [0x00], [0x7F], [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF],
        [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        Array("κόσμε".utf8), Array("Hello-µ@ßöäüàá-UTF-8!!".utf8),
    ]

    /// Ill-formed UTF-8, each with the index of the first byte a fail-fast validator must reject
    /// (Markus Kuhn's decoder stress test and the Autobahn 6.x cases).
    public static let invalidUTF8: [(bytes: [UInt8], failsAt: Int)] = [
        ([0x80], 0),                          // lone continuation
        ([0xBF], 0),
        ([0xC0, 0xAF], 0),                    // overlong '/' (C0 can never start a sequence)
        ([0xC1, 0xBF], 0),
        ([0xE0, 0x80, 0xAF], 1),              // overlong 3-byte
        ([0xE0, 0x9F, 0xBF], 1),
        ([0xF0, 0x80, 0x80, 0xAF], 1),        // overlong 4-byte
        ([0xF0, 0x8F, 0xBF, 0xBF], 1),
        ([0xED, 0xA0, 0x80], 1),              // U+D800, a surrogate
        ([0xED, 0xBF, 0xBF], 1),              // U+DFFF
        ([0xF4, 0x90, 0x80, 0x80], 1),        // U+110000
        ([0xF5, 0x80, 0x80, 0x80], 0),        // past the table
        ([0xFE], 0), ([0xFF], 0),
        ([0xC2, 0x41], 1),                    // truncated 2-byte, then ASCII
        ([0xE1, 0x80, 0x41], 2),
        ([0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64], 12),
    ]

    /// Decodes a lower-case hex string (test helper).
    public static func hexBytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            bytes.append(hexValue(high) << 4 | hexValue(low))
        }
        return bytes
    }

    private static func hexValue(_ c: UInt8) -> UInt8 {
        c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : (c | 0x20) - UInt8(ascii: "a") + 10
    }
}
