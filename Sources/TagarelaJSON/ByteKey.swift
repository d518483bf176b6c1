// ByteKey: a string compared and hashed by its UTF-8 bytes, for keys that clients choose.

/// Swift's `String` equality and hashing follow Unicode canonical equivalence: "café" spelled
/// with U+00E9 and "cafe" + U+0301 are equal strings. A key a client chooses (a
/// `client_msg_id`, a JSON member name) must instead mean exactly the bytes that were sent,
/// or two different keys collide and one client's data silently replaces another's
/// (PROTOCOL.md 3.1). `ByteKey` wraps the string and compares its UTF-8 bytes.
public struct ByteKey: Hashable, Sendable, CustomStringConvertible {
    /// The key as text (for output; compare `ByteKey`s, not this).
    public let string: String

    /// The key of `string`'s exact bytes.
    @inlinable
    public init(_ string: String) {
        self.string = string
    }

    /// True when `a` and `b` have the same UTF-8 bytes.
    @inlinable
    public static func equal(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        // Native strings are contiguous, so both closures run without copying.
        return a.withUTF8 { x in
            b.withUTF8 { y in
                x.count == y.count && (x.count == 0 || memcmpBytes(x, y))
            }
        }
    }

    @inlinable
    public static func == (lhs: ByteKey, rhs: ByteKey) -> Bool {
        equal(lhs.string, rhs.string)
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    public var description: String { string }
}

/// Byte equality of two buffers of the same, non-zero length.
@usableFromInline @inline(__always)
func memcmpBytes(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    let n = x.count
    while i < n {
        if x[i] != y[i] { return false }
        i += 1
    }
    return true
}
