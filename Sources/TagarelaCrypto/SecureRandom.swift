// SecureRandom: bytes from the kernel's cryptographic random source, and constant-time compare.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cryptographically secure random bytes from the kernel's CSPRNG (/dev/urandom; Glibc's
/// module map does not expose getrandom(2), and after boot both read the same pool).
public enum SecureRandom {
    public static func bytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        // Without randomness we would mint guessable tokens: stopping is the only safe answer.
        precondition(fd >= 0, "cannot open /dev/urandom (errno \(errno))")
        defer { close(fd) }
        var filled = 0
        while filled < count {
            let n = out.withUnsafeMutableBytes { raw -> Int in
                read(fd, raw.baseAddress! + filled, count - filled)
            }
            if n < 0 && errno == EINTR { continue }
            precondition(n > 0, "reading /dev/urandom failed (errno \(errno))")
            filled += n
        }
        return out
    }
}

/// Compares two byte sequences in time that depends only on their lengths.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}

/// Lower-case hexadecimal text of `bytes`.
public func hexString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}
