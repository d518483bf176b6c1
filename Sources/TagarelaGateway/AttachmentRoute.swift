// AttachmentRoute: `GET /attachments/<chat_id>/<attachment_id>` with a bearer token: the request it becomes (auth, then get_attachment) and the HTTP answer made from the worker's reply.
import TagarelaCrypto
import TagarelaJSON
import TagarelaModel
import TagarelaWire

/// The browser's way to an attachment's bytes (PROTOCOL.md 1 and 2.3): an `<img src>` or a
/// download cannot send a WebSocket request. The connection runs it through its `Session` as
/// `auth` then `get_attachment` (the same admission, routing and membership check as on the
/// WebSocket), then answers the get_attachment reply as HTTP and closes.
///
/// Every refusal is the same 404 (no token, a bad token, not a member, no such chat or
/// attachment), so the route never tells anyone but a member whether something exists.
public struct AttachmentRoute: Equatable {
    static let prefix = "/attachments/"

    let chatID: String
    let attachmentID: String
    /// The bearer token, nil when the request has none.
    let token: String?
    let headOnly: Bool

    /// The route's request for `head`, nil when the path is not `/attachments/<chat>/<id>`.
    init?(_ head: HTTPRequestHead) {
        let path = head.path
        guard path.hasPrefix(Self.prefix) else { return nil }
        let parts = path.dropFirst(Self.prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let chat = Self.percentDecoded(parts[0]), let id = Self.percentDecoded(parts[1]),
              !chat.isEmpty, !id.isEmpty else { return nil }
        chatID = chat
        attachmentID = id
        headOnly = head.method == "HEAD"
        if let value = head.value(of: "Authorization"), value.count > 7,
           value.prefix(7).lowercased() == "bearer " {
            let t = value.dropFirst(7).trimmingSpaces()
            token = t.isEmpty ? nil : t
        } else {
            token = nil
        }
    }

    /// The two requests the session runs: `auth` with the token, then `get_attachment`. The
    /// request ids tell their answers apart.
    var requests: [[UInt8]] {
        var auth = JSONWriter(capacity: 160)
        auth.beginObject()
        auth.key("type"); auth.string("auth")
        auth.key("request_id"); auth.string("http-auth")
        auth.key("token"); auth.string(token ?? "")
        auth.endObject()
        var get = JSONWriter(capacity: 160)
        get.beginObject()
        get.key("type"); get.string("get_attachment")
        get.key("request_id"); get.string("http-get")
        get.key("chat_id"); get.string(chatID)
        get.key("attachment_id"); get.string(attachmentID)
        get.endObject()
        return [auth.bytes, get.bytes]
    }

    /// What a reply from the session means for the HTTP answer: nil while the answer is still
    /// to come (a successful auth, or anything else), else the bytes to send. An auth that
    /// could not be checked (its shard unavailable) is a 503 at once: a 404 would tell a member
    /// that the file is gone.
    func answer(forReply json: [UInt8]) -> [UInt8]? {
        guard let reply = try? JSON.parse(json) else { return nil }
        let busy = [ErrorCode.unavailable, .rateLimited, .timeout].map(\.rawValue).contains(reply["code"]?.string ?? "")
        if busy && (reply["type"]?.string == RequestType.auth.rawValue || reply["type"]?.string == RequestType.getAttachment.rawValue) {
            return Self.finish(HTTPResponse.error(status: 503, message: "unavailable, retry", headers: [("Retry-After", "1")]),
                               headOnly)
        }
        guard reply["type"]?.string == RequestType.getAttachment.rawValue else { return nil }
        guard reply["status"]?.string == "ok", let meta = reply["attachment"], let text = reply["data"]?.string,
              let bytes = Base64.decode(text) else {
            return Self.notFound(headOnly: headOnly)
        }
        let mime = meta["mime"]?.string.flatMap(AttachmentRules.normalizedMime) ?? "application/octet-stream"
        let name = meta["name"]?.string ?? "attachment"
        return Self.ok(bytes, mime: mime, name: name, headOnly: headOnly)
    }

    /// The one refusal (see the type's comment).
    static func notFound(headOnly: Bool) -> [UInt8] {
        finish(HTTPResponse.error(status: 404, message: "not found", headers: [("Cache-Control", "private, no-store")]),
               headOnly)
    }

    /// 200 with the stored media type. `nosniff` keeps the browser to it; anything but an image
    /// is a download (`Content-Disposition: attachment`), so an HTML or SVG file sent by a member
    /// never runs as a page of this origin; the sandbox CSP covers an image opened directly.
    /// Private: the bytes are for this member only, never for a shared cache.
    static func ok(_ bytes: [UInt8], mime: String, name: String, headOnly: Bool) -> [UInt8] {
        let inline = mime.hasPrefix("image/") && mime != "image/svg+xml"
        let disposition = (inline ? "inline" : "attachment") + "; " + contentDispositionFilename(name)
        return HTTPResponse.encode(status: 200, headers: [
            ("Content-Type", mime), ("Content-Length", String(bytes.count)),
            ("X-Content-Type-Options", "nosniff"), ("Content-Disposition", disposition),
            ("Content-Security-Policy", "sandbox; default-src 'none'"),
            ("Cache-Control", "private, max-age=3600"), ("Connection", "close"),
        ], body: headOnly ? [] : bytes)
    }

    /// `filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266): the fallback
    /// replaces every byte that is not plain printable ASCII, `"` or `\` with `_`, so no header
    /// can be broken or extended by a name.
    static func contentDispositionFilename(_ name: String) -> String {
        var ascii = ""
        var encoded = ""
        for scalar in name.unicodeScalars {
            let v = scalar.value
            ascii.append(v >= 0x20 && v < 0x7F && v != 0x22 && v != 0x5C ? Character(scalar) : "_")
        }
        for byte in name.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80, c.isLetter || c.isNumber || "!#$&+-.^_`|~".contains(c) {
                encoded.append(c)
            } else {
                encoded += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return "filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    /// `%XX` decoded (a chat id's `:` may arrive as `%3A`); nil for a bad escape or bytes that
    /// are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let b = bytes.popFirst() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16), v != 0 else {
                return nil
            }
            out.append(v)
            bytes = bytes.dropFirst(2)
        }
        return String(validatingUTF8: out.map { CChar(bitPattern: $0) } + [0])
    }

    private static func finish(_ response: [UInt8], _ headOnly: Bool) -> [UInt8] {
        headOnly ? HTTPEndpoint.headOnly(response) : response
    }
}

private extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

/// An HTTP connection's attachment request in flight (a class: one pointer in every connection).
final class AttachmentFetch {
    let route: AttachmentRoute

    init(_ route: AttachmentRoute) { self.route = route }
}
