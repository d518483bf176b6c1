// SHA1: the FIPS 180-4 SHA-1 hash, needed only for the WebSocket accept key (RFC 6455 section 4.2.2).

/// An incremental SHA-1 (FIPS 180-4 section 6.1).
///
/// SHA-1 is broken for collision resistance; RFC 6455 uses it only to prove the server read the
/// handshake, which it still does. Never use it for anything secret.
public struct SHA1 {
    /// The digest size in bytes.
    public static let digestCount = 20
    /// The block size in bytes.
    public static let blockCount = 64

    private var h0: UInt32 = 0x6745_2301
    private var h1: UInt32 = 0xEFCD_AB89
    private var h2: UInt32 = 0x98BA_DCFE
    private var h3: UInt32 = 0x1032_5476
    private var h4: UInt32 = 0xC3D2_E1F0
    private var block = [UInt8](repeating: 0, count: SHA1.blockCount)
    private var blockFill = 0
    private var totalBytes: UInt64 = 0

    /// A fresh hash state.
    public init() {}

    /// Adds `bytes` to the message.
    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        for byte in bytes {
            block[blockFill] = byte
            blockFill += 1
            if blockFill == SHA1.blockCount {
                compressBlock()
                blockFill = 0
            }
        }
        totalBytes &+= UInt64(bytes.count)
    }

    /// Pads the message (FIPS 180-4 section 5.1.1) and returns the 20-byte digest.
    /// The state is spent afterwards.
    public mutating func finalize() -> [UInt8] {
        let bitLength = totalBytes &* 8
        var padding: [UInt8] = [0x80]
        let afterMarker = (blockFill + 1) % SHA1.blockCount
        let zeros = afterMarker <= 56 ? 56 - afterMarker : 64 + 56 - afterMarker
        padding += [UInt8](repeating: 0, count: zeros)
        for shift in stride(from: 56, through: 0, by: -8) {
            padding.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        let savedTotal = totalBytes
        update(padding)
        totalBytes = savedTotal
        precondition(blockFill == 0, "SHA-1 padding must end on a block boundary")
        var digest = [UInt8]()
        digest.reserveCapacity(SHA1.digestCount)
        for word in [h0, h1, h2, h3, h4] {
            digest.append(UInt8(truncatingIfNeeded: word >> 24))
            digest.append(UInt8(truncatingIfNeeded: word >> 16))
            digest.append(UInt8(truncatingIfNeeded: word >> 8))
            digest.append(UInt8(truncatingIfNeeded: word))
        }
        return digest
    }

    /// One-shot convenience: the digest of `bytes`.
    public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var sha = SHA1()
        sha.update(bytes)
        return sha.finalize()
    }

    /// The compression function over one 64-byte block (FIPS 180-4 section 6.1.2).
    private mutating func compressBlock() {
        var w = [UInt32](repeating: 0, count: 80)
        for t in 0..<16 {
            w[t] = UInt32(block[t * 4]) << 24 | UInt32(block[t * 4 + 1]) << 16
                | UInt32(block[t * 4 + 2]) << 8 | UInt32(block[t * 4 + 3])
        }
        for t in 16..<80 {
            let x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
            w[t] = (x << 1) | (x >> 31)
        }
        var a = h0, b = h1, c = h2, d = h3, e = h4
        for t in 0..<80 {
            let f: UInt32
            let k: UInt32
            switch t {
            case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
            case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
            case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
            default: f = b ^ c ^ d; k = 0xCA62_C1D6
            }
            let temp = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[t]
            e = d
            d = c
            c = (b << 30) | (b >> 2)
            b = a
            a = temp
        }
        h0 = h0 &+ a
        h1 = h1 &+ b
        h2 = h2 &+ c
        h3 = h3 &+ d
        h4 = h4 &+ e
    }
}
