// HTTPResponse: encodes HTTP/1.1 response heads and small bodies to bytes.

/// Builds HTTP/1.1 responses (RFC 9112 section 4) as ready-to-write bytes.
public enum HTTPResponse {
    /// Encodes a status line, `headers` in order, and `body`.
    ///
    /// `reason` defaults to the standard phrase of `status`. A `Content-Length` is added unless
    /// `headers` has one or the status forbids a body (1xx, 204, 304: RFC 9110 section 8.6).
    /// Names, values and the reason must not contain CR or LF: that is a programmer error,
    /// since this would let text split the response.
    public static func encode(status: Int, reason: String? = nil, headers: [(String, String)] = [],
                              body: [UInt8] = []) -> [UInt8] {
        let phrase = reason ?? reasonPhrase(for: status)
        var output = [UInt8]()
        output.reserveCapacity(64 + headers.count * 32 + body.count)
        append("HTTP/1.1 \(status) ", to: &output)
        appendLineText(phrase, to: &output)
        output += [0x0D, 0x0A]
        var hasLength = false
        for (name, value) in headers {
            precondition(!name.isEmpty && name.utf8.allSatisfy(HTTPHeadParser.isTokenByte), "bad header name \(name)")
            if HTTPRequestHead.equalsIgnoringASCIICase(name, "Content-Length") { hasLength = true }
            append(name, to: &output)
            output += [UInt8(ascii: ":"), UInt8(ascii: " ")]
            appendLineText(value, to: &output)
            output += [0x0D, 0x0A]
        }
        let bodyForbidden = (100..<200).contains(status) || status == 204 || status == 304
        if !hasLength && !bodyForbidden {
            append("Content-Length: \(body.count)\r\n", to: &output)
        }
        output += [0x0D, 0x0A]
        output += body
        return output
    }

    /// A plain-text error response that closes the connection: `message` plus a newline as the
    /// body, and `Connection: close` because the server closes after sending it.
    public static func error(status: Int, message: String, headers: [(String, String)] = []) -> [UInt8] {
        encode(status: status,
               headers: [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")] + headers,
               body: Array((message + "\n").utf8))
    }

    /// `error(status:message:)` for a refused request head.
    public static func error(_ error: HTTPError, headers: [(String, String)] = []) -> [UInt8] {
        self.error(status: error.status, message: error.reason, headers: headers)
    }

    /// The standard reason phrase of `status` (RFC 9110 section 15), or `Unknown`.
    public static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Unknown"
        }
    }

    private static func append(_ text: String, to output: inout [UInt8]) {
        output.append(contentsOf: text.utf8)
    }

    private static func appendLineText(_ text: String, to output: inout [UInt8]) {
        precondition(!text.utf8.contains(0x0D) && !text.utf8.contains(0x0A), "CR or LF inside an HTTP header line")
        output.append(contentsOf: text.utf8)
    }
}
