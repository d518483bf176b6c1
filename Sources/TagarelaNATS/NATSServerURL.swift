// NATSServerURL: one server address of `nats://[token@|user:pass@]host:port`, and lists of them.

/// A server to connect to. The host must be an IPv4 address (or `localhost`): the client runs on
/// an event loop that must never block, and name resolution (`getaddrinfo`) blocks.
public struct NATSServerURL: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// `nats://TOKEN@host:port`
    public var token: String?
    /// `nats://USER:PASS@host:port`
    public var user: String?
    public var password: String?

    public init(host: String, port: Int, token: String? = nil, user: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.token = token
        self.user = user
        self.password = password
    }

    /// `nats://host:port`, without credentials (safe to print).
    public var description: String { "nats://\(host):\(port)" }

    /// What `parse` refuses, with a message for the operator.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ text: String) { description = text }
    }

    /// The message for a TLS URL or server: this client has no TLS.
    public static let tlsRefusal = "TLS is not offered by this NATS client (Tagarela has no TLS library): "
        + "terminate TLS in front of it (a local stunnel or proxy) or reach NATS over loopback or a private network"

    /// Parses one URL. `nats://` is the default scheme (`host:port` alone is accepted, as in
    /// a server's `connect_urls`); the port defaults to 4222. `tls://` is refused (`tlsRefusal`).
    public static func parse(_ text: String) throws(ParseError) -> NATSServerURL {
        // Errors quote the URL for the operator, but never its token or password: they reach
        // startup messages and logs.
        let shown = redacted(text)
        var rest = Substring(text.trimmingSpaces())
        let parts = rest.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            let scheme = parts[0].lowercased()
            if scheme == "tls" { throw ParseError("\(shown): " + tlsRefusal) }
            guard scheme == "nats" else { throw ParseError("\(shown): the scheme must be nats://") }
            rest = parts[1]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var url = NATSServerURL(host: "", port: 4222)
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                url.user = String(credentials[..<colon]).percentDecoded()
                url.password = String(credentials[credentials.index(after: colon)...]).percentDecoded()
            } else {
                url.token = String(credentials).percentDecoded()
            }
        }
        var hostPart = rest
        if let colon = rest.lastIndex(of: ":") {
            hostPart = rest[..<colon]
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                throw ParseError("\(shown): the port must be a number from 1 to 65535")
            }
            url.port = port
        }
        let host = hostPart == "localhost" ? "127.0.0.1" : String(hostPart)
        guard isIPv4(host) else {
            throw ParseError("\(shown): the host must be an IPv4 address (this client does not resolve names)")
        }
        url.host = host
        return url
    }

    /// Parses a comma-separated list (`nats://a:4222,nats://b:4222`); empty entries are skipped.
    public static func parseList(_ text: String) throws(ParseError) -> [NATSServerURL] {
        var urls: [NATSServerURL] = []
        for part in text.split(separator: ",") where !part.trimmingSpaces().isEmpty {
            urls.append(try parse(String(part)))
        }
        if urls.isEmpty { throw ParseError("no NATS server URL in \"\(text)\"") }
        return urls
    }

    /// `text` with whatever stands between the scheme and the last `@` (a token, or user and
    /// password) replaced by `***`.
    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        let parts = text[..<at].split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        let scheme = parts.count == 2 ? parts[0] + "://" : ""
        return scheme + "***" + text[at...]
    }

    /// Same host and port (credentials aside): the same server.
    func sameServer(as other: NATSServerURL) -> Bool { host == other.host && port == other.port }

    private static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy({ $0.isASCII && $0.isNumber }) && Int(part)! <= 255
        }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> Substring {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }

    /// `%XX` escapes decoded (a token or password may hold `@` or `:` written as `%40`, `%3A`).
    func percentDecoded() -> String {
        var out: [UInt8] = []
        let bytes = Array(utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
               let value = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(value)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
