// FastRandom: a tiny xorshift64* generator for masking keys and handshake nonces (not for secrets).

/// A fast non-cryptographic generator. WebSocket masking keys only have to keep a proxy from
/// predicting the wire bytes (RFC 6455 section 10.3); against our own loopback server the point
/// is to pay the realistic cost of masking, so a cheap generator per loop thread is enough.
struct FastRandom {
    private var state: UInt64

    /// A generator from `seed` (0 is replaced by a fixed odd constant).
    init(seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    /// The next 64 random bits.
    @inline(__always)
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// The next 32 random bits (a masking key).
    @inline(__always)
    mutating func next32() -> UInt32 {
        UInt32(truncatingIfNeeded: next() >> 32)
    }

    /// Fills `bytes` with random bytes.
    mutating func fill(_ bytes: inout [UInt8]) {
        var i = 0
        while i < bytes.count {
            var word = next()
            for _ in 0..<8 where i < bytes.count {
                bytes[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
    }
}
