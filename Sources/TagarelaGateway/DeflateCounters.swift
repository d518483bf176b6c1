// DeflateCounters: what permessage-deflate did on a loop (bytes before and after, both ways), and its /metrics lines.

/// Counted by `LoopCompression`, gathered with the loop's other counters.
public struct DeflateCounters: Sendable, Equatable {
    /// 1 on a loop that can compress (zlib loaded, `--compression on`); summed over loops.
    public var loopsEnabled = 0
    /// Compressed messages queued on connections (a fan-out event to three counts three), and
    /// their payload bytes before and their frame bytes after compression.
    public var messagesOut = 0
    public var uncompressedBytesOut = 0
    public var compressedBytesOut = 0
    /// Times a message was run through a deflater: once per event per loop (and window size),
    /// however many receivers share the result, and once per reply or echo.
    public var compressions = 0
    /// Compressed client messages inflated, their payload bytes as received and inflated.
    public var messagesIn = 0
    public var compressedBytesIn = 0
    public var uncompressedBytesIn = 0

    public init() {}

    public mutating func add(_ other: DeflateCounters) {
        loopsEnabled += other.loopsEnabled
        messagesOut += other.messagesOut
        uncompressedBytesOut += other.uncompressedBytesOut
        compressedBytesOut += other.compressedBytesOut
        compressions += other.compressions
        messagesIn += other.messagesIn
        compressedBytesIn += other.compressedBytesIn
        uncompressedBytesIn += other.uncompressedBytesIn
    }

    /// The Prometheus lines (the format of `MetricsRenderer`).
    func render(into out: inout String) {
        out += "# HELP tagarela_compression_enabled 1 when WebSocket permessage-deflate is offered (zlib loaded, --compression on).\n"
        out += "# TYPE tagarela_compression_enabled gauge\ntagarela_compression_enabled \(loopsEnabled > 0 ? 1 : 0)\n"
        out += "# HELP tagarela_compressed_messages_total WebSocket messages sent or received compressed (permessage-deflate).\n"
        out += "# TYPE tagarela_compressed_messages_total counter\n"
        out += "tagarela_compressed_messages_total{direction=\"in\"} \(messagesIn)\n"
        out += "tagarela_compressed_messages_total{direction=\"out\"} \(messagesOut)\n"
        out += "# HELP tagarela_compressions_total Messages run through a deflater (a fan-out event once per loop, shared by its receivers).\n"
        out += "# TYPE tagarela_compressions_total counter\ntagarela_compressions_total \(compressions)\n"
        out += "# HELP tagarela_compression_bytes_total Bytes of compressed WebSocket messages: uncompressed (payload) and compressed (out: whole frames; in: payloads).\n"
        out += "# TYPE tagarela_compression_bytes_total counter\n"
        out += "tagarela_compression_bytes_total{direction=\"in\",form=\"compressed\"} \(compressedBytesIn)\n"
        out += "tagarela_compression_bytes_total{direction=\"in\",form=\"uncompressed\"} \(uncompressedBytesIn)\n"
        out += "tagarela_compression_bytes_total{direction=\"out\",form=\"compressed\"} \(compressedBytesOut)\n"
        out += "tagarela_compression_bytes_total{direction=\"out\",form=\"uncompressed\"} \(uncompressedBytesOut)\n"
    }
}
