// BenchCompression: the load generator's permessage-deflate: one deflater and inflater per bench thread, shared by its clients.
import TagarelaZlib

/// What `--compression on` gives each bench thread: the clients offer permessage-deflate as a
/// browser does (`permessage-deflate; client_max_window_bits`), compress every message they send
/// (as Chromium does) and inflate the server's compressed ones. The server answers with no
/// context takeover both ways, so one deflater and one inflater per thread serve every client
/// (each message is compressed and inflated whole with a fresh context).
final class BenchCompression {
    /// The offer sent in the upgrade request.
    static let offer = "permessage-deflate; client_max_window_bits"
    private let deflater: RawDeflater
    private let inflater: RawInflater
    /// Reused output of `compress`.
    private var compressed: [UInt8] = []

    /// Throws when the system's zlib cannot be loaded (the bench then refuses `--compression on`).
    init() throws {
        let zlib = try ZlibLibrary()
        deflater = try RawDeflater(zlib: zlib)
        inflater = try RawInflater(zlib: zlib)
    }

    /// `json` compressed (RFC 7692 7.2.1), valid until the next call.
    func compress(_ json: UnsafeRawBufferPointer) -> [UInt8] {
        compressed.removeAll(keepingCapacity: true)
        deflater.compressMessage(json) { compressed.append(contentsOf: $0) }
        return compressed
    }

    /// Inflates one server message and hands it to `body`; false when it does not inflate
    /// within `bytesMax`.
    func inflate(_ message: UnsafeRawBufferPointer, bytesMax: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        inflater.inflateMessage(message, bytesMax: bytesMax, body) == .inflated
    }

    /// Whether a `101` head (header names case-insensitive) accepted permessage-deflate.
    static func accepted(_ head: ArraySlice<UInt8>) -> Bool {
        let name = Array("sec-websocket-extensions:".utf8)
        for line in head.split(separator: 10) where line.count > name.count {
            let lowered = line.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
            if lowered.starts(with: name) && String(decoding: lowered, as: UTF8.self).contains("permessage-deflate") {
                return true
            }
        }
        return false
    }
}
