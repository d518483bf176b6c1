// E2EHTTP: sends a raw HTTP/1.1 request to the gateway and parses the response it writes before closing.
import Foundation

/// A parsed HTTP response.
public struct E2EHTTPResponse {
    /// The status code from the status line.
    public let status: Int
    /// The status line as sent.
    public let statusLine: String
    /// Header fields in order (names as sent).
    public let headers: [(name: String, value: String)]
    /// The body bytes (everything after the head up to the close).
    public let body: [UInt8]

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Raw HTTP helpers.
public enum E2EHTTP {
    /// `GET path` with a Host header and `Connection: close`.
    public static func requestBytes(_ method: String, _ path: String, port: Int, extraHeaders: [String] = []) -> [UInt8] {
        let head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
            + extraHeaders.map { $0 + "\r\n" }.joined() + "Connection: close\r\n\r\n"
        return Array(head.utf8)
    }

    /// Sends `request` (optionally one byte per write) and reads the response until the server
    /// closes. Throws when the server does not close within `timeoutMs` or sends no status line.
    public static func exchange(port: Int, _ request: [UInt8], byteByByte: Bool = false,
                                timeoutMs: Int = 5000) throws -> E2EHTTPResponse {
        let stream = try E2EByteStream(port: port)
        defer { stream.close() }
        if byteByByte {
            try stream.sendByteByByte(request)
        } else {
            try stream.send(request)
        }
        return try parse(try stream.readUntilClosed(timeoutMs: timeoutMs))
    }

    /// `GET path` and its response.
    public static func get(port: Int, _ path: String, byteByByte: Bool = false) throws -> E2EHTTPResponse {
        try exchange(port: port, requestBytes("GET", path, port: port), byteByByte: byteByByte)
    }

    /// Splits raw response bytes into status, headers and body.
    public static func parse(_ bytes: [UInt8]) throws -> E2EHTTPResponse {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int? = nil
        if bytes.count >= 4 {
            for i in 0...(bytes.count - 4) where Array(bytes[i..<(i + 4)]) == separator {
                headEnd = i
                break
            }
        }
        guard let end = headEnd else {
            throw E2EError.protocolViolation("no complete HTTP head in \(bytes.count) bytes: "
                                             + String(decoding: bytes.prefix(200), as: UTF8.self))
        }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines[0]
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw E2EError.protocolViolation("bad status line: \(statusLine)")
        }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return E2EHTTPResponse(status: status, statusLine: statusLine, headers: headers, body: Array(bytes[(end + 4)...]))
    }
}
