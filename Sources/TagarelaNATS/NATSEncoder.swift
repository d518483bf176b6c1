// NATSEncoder: the client side of the NATS protocol (CONNECT, PUB, HPUB, SUB, UNSUB, PING, PONG) and subject rules.
import TagarelaJSON

/// Subject rules of the NATS protocol: tokens separated by `.`, none empty, no whitespace or
/// control characters; in a subscription `*` may stand for one whole token and `>` for the
/// rest as the last token.
public enum NATSSubject {
    /// True when `subject` may be published to (`wildcards: false`) or subscribed to (`true`).
    public static func isValid(_ subject: String, wildcards: Bool) -> Bool {
        if subject.isEmpty { return false }
        let tokens = subject.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (index, token) in tokens.enumerated() {
            if token.isEmpty { return false }
            if token.contains(where: { $0 <= 0x20 || $0 == 0x7F }) { return false }
            let wild = token.count == 1 && (token.first == UInt8(ascii: "*") || token.first == UInt8(ascii: ">"))
            if wild {
                if !wildcards { return false }
                if token.first == UInt8(ascii: ">") && index != tokens.count - 1 { return false }
            }
        }
        return true
    }

    /// True when `token` may be one token of a subject (a cluster name, a bucket name, a key):
    /// not empty, no `.`, no whitespace or control character, no wildcard character.
    public static func isValidToken(_ token: String) -> Bool {
        !token.isEmpty && !token.utf8.contains(where: {
            $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: ">")
        })
    }
}

/// Appends client operations to an output buffer (one buffer per loop turn, written at once).
public enum NATSEncoder {
    /// What CONNECT says about us. `verbose` off (no +OK per operation), `pedantic` off,
    /// `headers` and `no_responders` on (a request to nobody is answered 503 at once instead of
    /// waiting for its timeout), `protocol` 1 (the server may send INFO updates: `connect_urls`).
    public static func connect(name: String, token: String?, user: String?, password: String?, into out: inout [UInt8]) {
        var members: [(String, JSON)] = [
            ("verbose", false), ("pedantic", false), ("tls_required", false), ("name", .string(name)),
            ("lang", "swift"), ("version", "tagarela"), ("protocol", 1), ("headers", true), ("no_responders", true),
        ]
        if let token { members.append(("auth_token", .string(token))) }
        if let user { members.append(("user", .string(user))) }
        if let password { members.append(("pass", .string(password))) }
        out.append(contentsOf: "CONNECT ".utf8)
        JSON.object(JSONObject(members)).encode(into: &out)
        out.append(contentsOf: "\r\n".utf8)
    }

    /// `PUB subject [reply] size` or, with headers, `HPUB subject [reply] hsize tsize`, then the body.
    public static func publish(_ subject: String, reply: String?, headers: [(String, String)], payload: [UInt8],
                               into out: inout [UInt8]) {
        precondition(NATSSubject.isValid(subject, wildcards: false), "invalid NATS subject \(subject)")
        if let reply { precondition(NATSSubject.isValid(reply, wildcards: false), "invalid NATS reply subject \(reply)") }
        let block = headers.isEmpty ? [] : headerBlock(headers)
        out.append(contentsOf: (block.isEmpty ? "PUB " : "HPUB ").utf8)
        out.append(contentsOf: subject.utf8)
        if let reply {
            out.append(0x20)
            out.append(contentsOf: reply.utf8)
        }
        if !block.isEmpty { appendDecimal(block.count, to: &out) }
        appendDecimal(block.count + payload.count, to: &out)
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: block)
        out.append(contentsOf: payload)
        out.append(contentsOf: "\r\n".utf8)
    }

    /// The size on the wire of the body of a publish (headers and payload), to check `max_payload`.
    public static func bodyBytes(headers: [(String, String)], payloadBytes: Int) -> Int {
        if headers.isEmpty { return payloadBytes }
        // "NATS/1.0\r\n", "Name: value\r\n" each, "\r\n": counted, not built (the publish builds it).
        return headers.reduce(12) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 } + payloadBytes
    }

    /// Appends a space and `value` in decimal (the sizes of PUB/HPUB), without a String.
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        precondition(value >= 0)
        out.append(0x20)
        if value < 10 {
            out.append(0x30 + UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[count] = 0x30 + UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }

    /// `NATS/1.0\r\nName: value\r\n...\r\n`: names are tokens without `:` or whitespace; neither
    /// may hold CR or LF (they would end the block early).
    static func headerBlock(_ headers: [(String, String)]) -> [UInt8] {
        var block = Array("NATS/1.0\r\n".utf8)
        for (name, value) in headers {
            precondition(!name.isEmpty && !name.utf8.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: ":") || $0 == 0x7F }),
                         "invalid NATS header name \(name)")
            precondition(!value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }), "NATS header value with CR or LF")
            block.append(contentsOf: name.utf8)
            block.append(contentsOf: ": ".utf8)
            block.append(contentsOf: value.utf8)
            block.append(contentsOf: "\r\n".utf8)
        }
        block.append(contentsOf: "\r\n".utf8)
        return block
    }

    /// `SUB subject [queue] sid`.
    public static func subscribe(_ subject: String, queue: String?, sid: UInt64, into out: inout [UInt8]) {
        precondition(NATSSubject.isValid(subject, wildcards: true), "invalid NATS subscription subject \(subject)")
        if let queue { precondition(NATSSubject.isValidToken(queue), "invalid NATS queue group \(queue)") }
        out.append(contentsOf: "SUB \(subject)".utf8)
        if let queue { out.append(contentsOf: " \(queue)".utf8) }
        out.append(contentsOf: " \(sid)\r\n".utf8)
    }

    /// `UNSUB sid`.
    public static func unsubscribe(sid: UInt64, into out: inout [UInt8]) {
        out.append(contentsOf: "UNSUB \(sid)\r\n".utf8)
    }

    public static func ping(into out: inout [UInt8]) { out.append(contentsOf: "PING\r\n".utf8) }
    public static func pong(into out: inout [UInt8]) { out.append(contentsOf: "PONG\r\n".utf8) }
}
