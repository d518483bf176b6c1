// WebSocketHandshake: checks an upgrade request (RFC 6455 section 4.2) and builds the 101 or the refusal.
import TagarelaCrypto

/// The server side of the WebSocket opening handshake, exactly as PROTOCOL.md 1.1 states it.
public enum WebSocketHandshake {
    /// The GUID appended to the client's key (RFC 6455 section 1.3).
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The only protocol version this server speaks (RFC 6455 section 4.1).
    public static let version = "13"

    /// The verdict on an upgrade request.
    public enum Outcome: Equatable {
        /// Valid: write `response` (a `101 Switching Protocols`) and start WebSocket framing.
        case accept(response: [UInt8])
        /// Refused: answer `status` with `reason` as a one-line body plus `headers`, then close.
        case reject(status: Int, reason: String, headers: [(String, String)])

        /// The bytes to write: the 101, or a plain-text error response that closes.
        public var responseBytes: [UInt8] {
            switch self {
            case .accept(let response): return response
            case .reject(let status, let reason, let headers):
                return HTTPResponse.error(status: status, message: reason, headers: headers)
            }
        }

        public static func == (lhs: Outcome, rhs: Outcome) -> Bool {
            switch (lhs, rhs) {
            case (.accept(let a), .accept(let b)): return a == b
            case (.reject(let s1, let r1, let h1), .reject(let s2, let r2, let h2)):
                return s1 == s2 && r1 == r2 && h1.count == h2.count && zip(h1, h2).allSatisfy { $0 == $1 }
            default: return false
            }
        }
    }

    /// Checks `head` and answers it.
    ///
    /// In order: method `GET` (405 otherwise, with `Allow: GET`); HTTP/1.1 or later; exactly one
    /// `Host`; `Upgrade` listing `websocket` and `Connection` listing `Upgrade` (tokens in comma
    /// lists, any case); `Sec-WebSocket-Version` exactly `13` (426 with
    /// `Sec-WebSocket-Version: 13` otherwise, also when it is missing, RFC 6455 section 4.4);
    /// exactly one `Sec-WebSocket-Key` that is strict base64 of 16 bytes; and, when
    /// `allowedOrigins` is set, an `Origin` among them (403). Other failures are 400.
    ///
    /// A request without `Origin` passes the allow-list: only browsers send it, the allow-list
    /// exists to stop other sites' pages from using a visitor's browser (RFC 6455 section 10.2),
    /// and a non-browser client could send any Origin it likes anyway.
    /// `subprotocol`, when set, is the name `WebSocketSubprotocol.select` chose from the client's
    /// offer: the 101 names it in `Sec-WebSocket-Protocol` (section 4.2.2 step 5.4); nil sends no
    /// such header. `extensions`, when given, is the `Sec-WebSocket-Extensions` value of the 101
    /// (`PerMessageDeflate.negotiate`), and without it RSV bits must stay 0.
    public static func evaluate(_ head: HTTPRequestHead, allowedOrigins: [String]?,
                                subprotocol: String? = nil, extensions: String? = nil) -> Outcome {
        guard head.method == "GET" else {
            return .reject(status: 405, reason: "a WebSocket upgrade must use GET", headers: [("Allow", "GET")])
        }
        guard head.version >= .http1_1 else {
            return badRequest("a WebSocket upgrade needs HTTP/1.1 or later")
        }
        let hosts = head.values(of: "Host")
        guard hosts.count == 1, !hosts[0].isEmpty else {
            return badRequest(hosts.isEmpty ? "missing Host header" : "exactly one non-empty Host header is required")
        }
        guard head.containsToken("websocket", in: "Upgrade") else {
            return badRequest("Upgrade header must contain websocket")
        }
        guard head.containsToken("Upgrade", in: "Connection") else {
            return badRequest("Connection header must contain Upgrade")
        }
        let versions = head.values(of: "Sec-WebSocket-Version")
        guard versions == [version] else {
            return .reject(status: 426, reason: "only WebSocket version 13 is supported",
                           headers: [("Sec-WebSocket-Version", version)])
        }
        let keys = head.values(of: "Sec-WebSocket-Key")
        guard keys.count == 1 else {
            return badRequest(keys.isEmpty ? "missing Sec-WebSocket-Key header" : "more than one Sec-WebSocket-Key header")
        }
        guard let nonce = Base64.decode(keys[0]), nonce.count == 16 else {
            return badRequest("Sec-WebSocket-Key must be base64 of 16 bytes")
        }
        if let allowed = allowedOrigins {
            let origins = head.values(of: "Origin")
            if origins.count > 1 {
                return .reject(status: 403, reason: "more than one Origin header", headers: [])
            }
            if let origin = origins.first,
               !allowed.contains(where: { HTTPRequestHead.equalsIgnoringASCIICase($0, origin) }) {
                return .reject(status: 403, reason: "origin not allowed", headers: [])
            }
        }
        var headers = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", acceptKey(for: keys[0])),
        ]
        if let subprotocol { headers.append(("Sec-WebSocket-Protocol", subprotocol)) }
        if let extensions = extensions { headers.append(("Sec-WebSocket-Extensions", extensions)) }
        return .accept(response: HTTPResponse.encode(status: 101, headers: headers))
    }

    /// `base64(SHA-1(key + GUID))` (RFC 6455 section 4.2.2, step 5.4).
    public static func acceptKey(for key: String) -> String {
        Base64.encode(SHA1.hash(Array((key + guid).utf8)))
    }

    private static func badRequest(_ reason: String) -> Outcome {
        .reject(status: 400, reason: reason, headers: [])
    }
}
