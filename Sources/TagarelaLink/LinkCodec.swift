// LinkCodec: encodes link frames into a caller's buffer so many frames share one write.

/// The link frame encoder.
///
/// Layout of every frame (all integers big-endian):
/// ```
/// u32 length of everything after this field
/// u8  type (LinkFrame.Kind)
/// ...  fields of the type, in declaration order:
///      u64 integers, u8 flags, strings and blobs as u32 length + bytes,
///      lists as u32 count + elements
/// request: u64 requestID, u64 connectionID, u8 flags, str userID, str sessionID, str arg, blob json
/// reply:   u64 requestID, blob json, str authUserID, str authSessionID, str endSessionID, str endUserID, list<event>
/// events:  list<event>
/// event:   list<str> userIDs, u64 excludeConnectionID, blob json
/// ping/pong: u64 nonce
/// subscribe/unsubscribe: list<str> userIDs
/// statsRequest: u64 nonce
/// stats: u64 nonce, list<str name, u64 value>, list<histogram>
/// histogram: str name, list<u64 bound>, u64 count per bucket (bounds + 1 of them), u64 sum
/// ```
/// Binary and length-prefixed, never newline-delimited: client content may hold any byte.
public enum LinkCodec {
    /// Bytes of the length prefix.
    public static let lengthPrefixCount = 4

    /// Appends `frame` to `buffer`; the worker appends a whole loop turn of replies and writes once.
    public static func encode(_ frame: LinkFrame, into buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.append(contentsOf: [0, 0, 0, 0])  // patched below once the body length is known
        buffer.append(frame.kind.rawValue)
        switch frame {
        case .request(let r):
            putU64(r.requestID, &buffer)
            putU64(r.connectionID, &buffer)
            buffer.append(r.flags)
            putString(r.userID, &buffer)
            putString(r.sessionID, &buffer)
            putString(r.arg, &buffer)
            putBlob(r.json, &buffer)
        case .reply(let r):
            putU64(r.requestID, &buffer)
            putBlob(r.json, &buffer)
            putString(r.authUserID, &buffer)
            putString(r.authSessionID, &buffer)
            putString(r.endSessionID, &buffer)
            putString(r.endUserID, &buffer)
            putEvents(r.events, &buffer)
        case .events(let events):
            putEvents(events, &buffer)
        case .ping(let nonce), .pong(let nonce):
            putU64(nonce, &buffer)
        case .subscribe(let users), .unsubscribe(let users):
            putU32(UInt32(users.count), &buffer)
            for user in users { putString(user, &buffer) }
        case .statsRequest(let nonce):
            putU64(nonce, &buffer)
        case .stats(let stats):
            putStats(stats, &buffer)
        }
        let bodyCount = buffer.count - start - lengthPrefixCount
        precondition(bodyCount <= Int(UInt32.max), "link frame larger than 4 GiB")
        let length = UInt32(bodyCount)
        buffer[start] = UInt8(truncatingIfNeeded: length >> 24)
        buffer[start + 1] = UInt8(truncatingIfNeeded: length >> 16)
        buffer[start + 2] = UInt8(truncatingIfNeeded: length >> 8)
        buffer[start + 3] = UInt8(truncatingIfNeeded: length)
    }

    /// Encodes one frame into a fresh array (tests and one-off frames).
    public static func encoded(_ frame: LinkFrame) -> [UInt8] {
        var out: [UInt8] = []
        encode(frame, into: &out)
        return out
    }

    private static func putEvents(_ events: [LinkEvent], _ buffer: inout [UInt8]) {
        putU32(UInt32(events.count), &buffer)
        for event in events {
            putU32(UInt32(event.userIDs.count), &buffer)
            for user in event.userIDs { putString(user, &buffer) }
            putU64(event.excludeConnectionID, &buffer)
            putBlob(event.json, &buffer)
        }
    }

    /// Integers travel as their two's-complement bit patterns (u64).
    private static func putStats(_ stats: WorkerStats, _ buffer: inout [UInt8]) {
        putU64(stats.nonce, &buffer)
        putU32(UInt32(stats.values.count), &buffer)
        for v in stats.values {
            putString(v.name, &buffer)
            putU64(UInt64(bitPattern: v.value), &buffer)
        }
        putU32(UInt32(stats.histograms.count), &buffer)
        for h in stats.histograms {
            putString(h.name, &buffer)
            putU32(UInt32(h.histogram.bounds.count), &buffer)
            for bound in h.histogram.bounds { putU64(UInt64(bitPattern: bound), &buffer) }
            for count in h.histogram.counts { putU64(count, &buffer) }
            putU64(UInt64(bitPattern: h.histogram.sum), &buffer)
        }
    }

    @inline(__always)
    private static func putU32(_ v: UInt32, _ buffer: inout [UInt8]) {
        buffer.append(UInt8(truncatingIfNeeded: v >> 24))
        buffer.append(UInt8(truncatingIfNeeded: v >> 16))
        buffer.append(UInt8(truncatingIfNeeded: v >> 8))
        buffer.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    private static func putU64(_ v: UInt64, _ buffer: inout [UInt8]) {
        putU32(UInt32(truncatingIfNeeded: v >> 32), &buffer)
        putU32(UInt32(truncatingIfNeeded: v), &buffer)
    }

    private static func putString(_ s: String, _ buffer: inout [UInt8]) {
        var s = s
        s.withUTF8 { utf8 in
            putU32(UInt32(utf8.count), &buffer)
            buffer.append(contentsOf: utf8)
        }
    }

    private static func putBlob(_ bytes: [UInt8], _ buffer: inout [UInt8]) {
        putU32(UInt32(bytes.count), &buffer)
        buffer.append(contentsOf: bytes)
    }
}
