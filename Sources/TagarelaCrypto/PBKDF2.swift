// PBKDF2: PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2), the slow password hash.

/// Password-based key derivation with HMAC-SHA256 as the pseudo-random function.
public enum PBKDF2 {
    /// Derives `length` bytes. Slow by design: run it off any event loop.
    public static func deriveKey<P: Collection, S: Collection>(
        password: P, salt: S, iterations: Int, length: Int = 32
    ) -> [UInt8] where P.Element == UInt8, S.Element == UInt8 {
        precondition(iterations >= 1 && length >= 1, "PBKDF2 needs at least one iteration and one byte")
        let prf = HMACSHA256(key: password)
        let saltBytes = Array(salt)
        var output = [UInt8]()
        output.reserveCapacity(length)
        var blockIndex: UInt32 = 1
        while output.count < length {
            let indexBytes: [UInt8] = [UInt8(blockIndex >> 24), UInt8((blockIndex >> 16) & 0xff),
                                       UInt8((blockIndex >> 8) & 0xff), UInt8(blockIndex & 0xff)]
            var u = prf.authenticate(saltBytes + indexBytes)
            var t = u
            if iterations > 1 {
                for _ in 1..<iterations {
                    u = prf.authenticate(u)
                    for i in 0..<t.count { t[i] ^= u[i] }
                }
            }
            output += t.prefix(length - output.count)
            blockIndex += 1
        }
        return output
    }
}
