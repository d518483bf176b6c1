// HTTPRequestHead: a parsed HTTP/1.x request head, with case-insensitive header lookup.

/// An HTTP protocol version from the request line, `HTTP/major.minor`.
public struct HTTPVersion: Equatable, Comparable, Sendable {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public static func < (lhs: HTTPVersion, rhs: HTTPVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}

/// A request line and its header fields, as received (RFC 9112 sections 3 and 5).
public struct HTTPRequestHead: Equatable, Sendable {
    /// The method token, case-sensitive (`GET`).
    public var method: String
    /// The request target as sent, query included (`/ws?x=1`).
    public var target: String
    /// The protocol version.
    public var version: HTTPVersion
    /// Header fields in arrival order, values with surrounding whitespace removed.
    /// Names keep their case; look them up with `value(of:)`, which ignores it.
    public var headers: [(name: String, value: String)]

    public init(method: String, target: String, version: HTTPVersion, headers: [(name: String, value: String)]) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The target without its query (`/ws` for `/ws?x=1`).
    public var path: String {
        if let question = target.firstIndex(of: "?") { return String(target[..<question]) }
        return target
    }

    /// The value of the first field named `name` (compared case-insensitively, RFC 9110
    /// section 5.1), or nil.
    public func value(of name: String) -> String? {
        headers.first { HTTPRequestHead.equalsIgnoringASCIICase($0.name, name) }?.value
    }

    /// The values of every field named `name`, in order.
    public func values(of name: String) -> [String] {
        headers.filter { HTTPRequestHead.equalsIgnoringASCIICase($0.name, name) }.map(\.value)
    }

    /// Whether some field named `name` lists `token` in its comma-separated value, ignoring case
    /// and whitespace around the elements (RFC 9110 section 5.6.1): `Connection: keep-alive, Upgrade`
    /// contains `upgrade`.
    public func containsToken(_ token: String, in name: String) -> Bool {
        for value in values(of: name) {
            for element in value.split(separator: ",", omittingEmptySubsequences: true) {
                let trimmed = element.trimmingCharacters(whereIn: [" ", "\t"])
                if HTTPRequestHead.equalsIgnoringASCIICase(trimmed, token) { return true }
            }
        }
        return false
    }

    /// ASCII case-insensitive equality, as header names and tokens need (no locale, no Foundation).
    public static func equalsIgnoringASCIICase<A: StringProtocol, B: StringProtocol>(_ a: A, _ b: B) -> Bool {
        let left = a.utf8, right = b.utf8
        guard left.count == right.count else { return false }
        for (x, y) in zip(left, right) where lowercased(x) != lowercased(y) { return false }
        return true
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    public static func == (lhs: HTTPRequestHead, rhs: HTTPRequestHead) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.version == rhs.version
            && lhs.headers.count == rhs.headers.count
            && zip(lhs.headers, rhs.headers).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// A request the server refuses before any protocol starts: the status to answer with and a
/// one-line reason for the body (PROTOCOL.md 1.1: "never a silent drop").
public struct HTTPError: Error, Equatable, Sendable {
    /// The HTTP status code (400, 431, ...).
    public var status: Int
    /// One line of plain text saying what was wrong; never echoes the client's bytes.
    public var reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }
}

extension StringProtocol {
    /// The substring without leading and trailing characters from `set` (no Foundation).
    func trimmingCharacters(whereIn set: Set<Character>) -> Substring {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return Substring(slice)
    }
}
