// JournalFormat: the journal's record framing and the recovery scan that tells a torn tail from damage.

/// Journal file format: a sequence of records, nothing else (the generation lives in the file
/// name `journal-<gen>.log`, bound to the snapshot that names it). Each record is
/// ```
/// u32 big-endian payload length (1 ... maxRecordBytes)
/// u32 big-endian CRC-32C of the payload
/// payload
/// ```
/// Empty payloads are not allowed, so a zero-filled region (what a file extended by a crash
/// but never written reads as) is never mistaken for records.
enum JournalFormat {
    static let headerCount = 8
    /// Larger than any record the engine writes (a message is at most 1 MiB); a length above it
    /// can only be damage.
    static let maxRecordBytes = 64 << 20

    /// Appends one framed record to `buffer`.
    static func append(_ payload: [UInt8], to buffer: inout [UInt8]) {
        precondition(!payload.isEmpty, "journal records must not be empty")
        precondition(payload.count <= maxRecordBytes, "journal record over \(maxRecordBytes) bytes")
        let length = UInt32(payload.count)
        let crc = CRC32C.checksum(payload)
        for v in [length, crc] {
            buffer.append(UInt8(truncatingIfNeeded: v >> 24))
            buffer.append(UInt8(truncatingIfNeeded: v >> 16))
            buffer.append(UInt8(truncatingIfNeeded: v >> 8))
            buffer.append(UInt8(truncatingIfNeeded: v))
        }
        buffer.append(contentsOf: payload)
    }

    /// What the bytes after the last valid record are.
    enum Tail: Equatable {
        /// An incomplete record (a short header, a length running past the end, a zero or
        /// impossible length): the interrupted last write, which was never acknowledged.
        case torn
        /// A complete record (its whole length is present) whose checksum does not match:
        /// bytes that were written whole and then changed, or a write whose pages landed only
        /// in part. It is cut like a torn tail (replay stops at the first invalid record, as
        /// PostgreSQL's does), but it may have been acknowledged, so its bytes are kept aside.
        case badChecksum
    }

    /// The outcome of scanning a journal file.
    struct Scan {
        /// The payloads of the valid records, in order.
        var records: [[UInt8]]
        /// Where the valid records end; bytes after it are a tail to cut off.
        var validEnd: Int
        /// Why the tail (if any) was rejected.
        var tailReason: String?
        /// What the tail is; nil when there is none.
        var tail: Tail?
    }

    /// Scans a whole journal file.
    ///
    /// The rule: records are read in order until one is not valid. If any valid record can be
    /// found at any byte offset after that point, the bad record is damage in the middle of the
    /// journal (a flipped bit, a corrupted length) and loading stops with its file and offset:
    /// cutting there would silently drop data that was durable. If nothing valid follows, the bad
    /// bytes are a torn tail, the interrupted last write, and are reported for truncation.
    /// (Pages of one unsynced write can also reach the disk out of order, leaving a hole followed
    /// by a valid record; that too is refused rather than guessed at, and an operator decides.)
    static func scan(_ bytes: [UInt8], file: String) throws(StoreError) -> Scan {
        let result: Result<Scan, StoreError> = bytes.withUnsafeBytes { raw in
            var records: [[UInt8]] = []
            var offset = 0
            while offset < raw.count {
                switch check(raw, at: offset) {
                case .valid(let end):
                    records.append([UInt8](UnsafeRawBufferPointer(rebasing: raw[(offset + headerCount)..<end])))
                    offset = end
                case .invalid(let reason, let complete):
                    for later in (offset + 1)..<raw.count {
                        if case .valid = check(raw, at: later) {
                            return .failure(.corruptJournal(file: file, offset: offset,
                                                            reason: "\(reason), and a valid record follows at offset \(later)"))
                        }
                    }
                    return .success(Scan(records: records, validEnd: offset, tailReason: reason,
                                         tail: complete ? .badChecksum : .torn))
                }
            }
            return .success(Scan(records: records, validEnd: offset, tailReason: nil, tail: nil))
        }
        return try result.get()
    }

    enum Check {
        case valid(end: Int)
        /// `complete`: the record's whole length is present and only its checksum is wrong.
        case invalid(String, complete: Bool)
    }

    /// Whether a complete, checksummed record starts at `offset`.
    static func check(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Check {
        let available = raw.count - offset
        guard available >= headerCount else {
            return .invalid("incomplete record header (\(available) bytes)", complete: false)
        }
        let length = Int(readU32(raw, offset))
        guard length > 0 && length <= maxRecordBytes else {
            return .invalid("impossible record length \(length)", complete: false)
        }
        guard length <= available - headerCount else {
            return .invalid("record of \(length) bytes runs past the end of the file", complete: false)
        }
        let stored = readU32(raw, offset + 4)
        let start = offset + headerCount
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))
        guard actual == stored else { return .invalid("checksum mismatch", complete: true) }
        return .valid(end: start + length)
    }

    private static func readU32(_ raw: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(raw[offset]) << 24 | UInt32(raw[offset + 1]) << 16 | UInt32(raw[offset + 2]) << 8 | UInt32(raw[offset + 3])
    }
}
