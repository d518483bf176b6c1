// SnapshotFile: the snapshot.json envelope that binds the engine's snapshot to a journal generation.

/// `snapshot.json` format, one line of JSON written by us in a fixed key order:
/// ```
/// {"format":1,"generation":G,"length":L,"crc32c":C,"snapshot":BODY}\n
/// ```
/// BODY is the engine's snapshot bytes embedded verbatim (not as an escaped string): L bytes
/// with CRC-32C C. The engine's snapshot is JSON, so the file is JSON an operator can read with
/// any tool, yet loading never parses the body: the header is matched exactly and the body is
/// cut out by its length, so snapshots of any size load at memory speed.
///
/// G is the generation: the snapshot covers everything up to the start of `journal-G.log`, the
/// one journal replayed on top of it. Older journals are already inside the snapshot.
struct SnapshotFile {
    static let formatVersion = 1

    var generation: UInt64
    var body: [UInt8]

    func encoded() -> [UInt8] {
        var bytes = header
        bytes.reserveCapacity(bytes.count + body.count + SnapshotFile.trailer.count)
        bytes.append(contentsOf: body)
        bytes.append(contentsOf: SnapshotFile.trailer)
        return bytes
    }

    /// The bytes before the body; a large snapshot is written as header, body, trailer, so
    /// that its body (hundreds of megabytes for a large shard) is never copied.
    var header: [UInt8] {
        Array(("{\"format\":\(SnapshotFile.formatVersion),\"generation\":\(generation),"
            + "\"length\":\(body.count),\"crc32c\":\(CRC32C.checksum(body)),\"snapshot\":").utf8)
    }

    /// The bytes after the body.
    static let trailer: [UInt8] = [UInt8(ascii: "}"), UInt8(ascii: "\n")]

    /// Parses a snapshot file; `file` names it in errors.
    static func decode(_ bytes: [UInt8], file: String) throws(StoreError) -> SnapshotFile {
        var cursor = 0
        func literal(_ text: String) -> Bool {
            let expected = Array(text.utf8)
            guard bytes.count - cursor >= expected.count,
                  bytes[cursor..<(cursor + expected.count)].elementsEqual(expected) else { return false }
            cursor += expected.count
            return true
        }
        func number() -> UInt64? {
            var value: UInt64 = 0
            let start = cursor
            while cursor < bytes.count, bytes[cursor] >= 0x30, bytes[cursor] <= 0x39, cursor - start < 20 {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(bytes[cursor] - 0x30))
                if o1 || o2 { return nil }
                value = sum
                cursor += 1
            }
            return cursor > start ? value : nil
        }
        func fail(_ reason: String) -> StoreError { .corruptSnapshot(file: file, reason: reason) }

        guard literal("{\"format\":"), let format = number() else { throw fail("missing format header") }
        guard format == UInt64(formatVersion) else { throw fail("unknown format \(format)") }
        guard literal(",\"generation\":"), let generation = number(),
              literal(",\"length\":"), let length = number(),
              literal(",\"crc32c\":"), let crc = number(),
              literal(",\"snapshot\":") else { throw fail("malformed header") }
        guard length <= UInt64(bytes.count - cursor), Int(length) == bytes.count - cursor - 2 else {
            throw fail("length \(length) does not match the file size \(bytes.count)")
        }
        let body = Array(bytes[cursor..<(cursor + Int(length))])
        guard bytes[bytes.count - 2] == UInt8(ascii: "}"), bytes[bytes.count - 1] == UInt8(ascii: "\n") else {
            throw fail("missing closing brace")
        }
        guard UInt64(CRC32C.checksum(body)) == crc else { throw fail("checksum mismatch") }
        return SnapshotFile(generation: generation, body: body)
    }
}
