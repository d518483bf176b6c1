// E2ENDJSONClient: a blocking raw-TCP newline-delimited JSON client for end-to-end tests, every wait bounded.

/// One raw TCP connection speaking one JSON object per `\n`-terminated line (PROTOCOL.md 1).
public final class E2ENDJSONClient: E2ETextTransport {
    /// The connection.
    public let stream: E2EByteStream

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int, timeoutMs: Int = 3000) throws {
        stream = try E2EByteStream(port: port, timeoutMs: timeoutMs)
    }

    /// Closes the connection.
    public func close() { stream.close() }

    /// Sends `text` followed by `terminator` (`\n` by default; `\r\n` is tolerated by the server).
    public func sendLine(_ text: String, terminator: String = "\n") throws {
        try stream.send(Array((text + terminator).utf8))
    }

    /// Sends raw bytes, framing included.
    public func sendRaw(_ bytes: [UInt8]) throws {
        try stream.send(bytes)
    }

    /// `E2ETextTransport`: one line.
    public func sendText(_ text: String) throws {
        try sendLine(text)
    }

    /// `E2ETextTransport`: several lines in one write.
    public func sendTexts(_ texts: [String]) throws {
        try stream.send(Array(texts.map { $0 + "\n" }.joined().utf8))
    }

    /// The next line without its `\n`; the server never sends empty lines, so one is a violation.
    public func receiveText(timeoutMs: Int) throws -> String {
        let line = try stream.read(through: [0x0A], timeoutMs: timeoutMs)
        var body = line.dropLast()
        if body.last == 0x0D { body = body.dropLast() }
        guard !body.isEmpty else { throw E2EError.protocolViolation("empty line from the server") }
        return String(decoding: body, as: UTF8.self)
    }
}
