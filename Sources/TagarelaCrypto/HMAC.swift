// HMAC: HMAC-SHA256 (RFC 2104), the pseudo-random function of PBKDF2.

/// HMAC-SHA256 with a fixed key; `authenticate` may be called many times.
public struct HMACSHA256 {
    private let innerStart: SHA256
    private let outerStart: SHA256

    /// Prepares the inner and outer padded key states once (RFC 2104 section 2).
    public init<C: Collection>(key: C) where C.Element == UInt8 {
        var keyBlock = key.count > SHA256.blockCount ? SHA256.hash(key) : Array(key)
        keyBlock += [UInt8](repeating: 0, count: SHA256.blockCount - keyBlock.count)
        var inner = SHA256()
        inner.update(keyBlock.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(keyBlock.map { $0 ^ 0x5c })
        innerStart = inner
        outerStart = outer
    }

    /// The 32-byte MAC of `message`.
    public func authenticate<C: Collection>(_ message: C) -> [UInt8] where C.Element == UInt8 {
        var inner = innerStart
        inner.update(message)
        var outer = outerStart
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// One-shot convenience.
    public static func authenticate<K: Collection, M: Collection>(key: K, message: M) -> [UInt8]
        where K.Element == UInt8, M.Element == UInt8 {
        HMACSHA256(key: key).authenticate(message)
    }
}
