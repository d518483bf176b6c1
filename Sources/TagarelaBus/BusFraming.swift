// BusFraming: link frames in bus messages: whole frames per message, and a frame larger than the server's max_payload in numbered parts.
import TagarelaLink

/// How link frames ride in bus messages (PROTOCOL.md 3.8).
///
/// A message carries whole frames, as many as fit under the server's `max_payload` (NATS's
/// default is 1 MiB, and our frames reach 8 MiB: a page of large messages), so most messages
/// decode on their own and a lost one loses only its frames. A frame larger than a message is
/// cut into consecutive parts, each with the header `Tg-Part: i/n`; the receiver joins them and
/// drops a frame whose parts do not arrive in order (NATS keeps one publisher's order to one
/// subscriber, so only a reconnection loses parts; the request then meets its deadline, as a
/// lost frame does). We chose this over asking operators to raise `max_payload`: it works on
/// any server's setting, and the part header costs nothing on the common, small frames.
public enum BusFraming {
    public static let partHeader = "Tg-Part"
    /// The worker's incarnation, on every message it sends (`NATSLinkTransport` resets the
    /// link when it changes: a restarted worker knows none of the loop's subscriptions).
    public static let epochHeader = "Tg-Epoch"
    /// Room left under `max_payload` for the message's headers (ours are under 64 bytes).
    public static let headerRoom = 256

    /// One message to publish.
    public struct Message: Equatable {
        public var payload: [UInt8]
        /// `Tg-Part`'s value, nil for a message of whole frames.
        public var part: String?
    }

    /// Splits `frames` (whole frames as `LinkCodec` encodes them) into messages of at most
    /// `maxPayload - headerRoom` bytes.
    public static func split(_ frames: [UInt8], maxPayload: Int) -> [Message] {
        let room = max(1024, maxPayload - headerRoom)
        if frames.count <= room { return [Message(payload: frames, part: nil)] }
        var messages: [Message] = []
        var current: [UInt8] = []
        var index = 0
        while index + LinkCodec.lengthPrefixCount <= frames.count {
            let body = Int(frames[index]) << 24 | Int(frames[index + 1]) << 16 | Int(frames[index + 2]) << 8 | Int(frames[index + 3])
            let end = min(frames.count, index + LinkCodec.lengthPrefixCount + body)
            let frameCount = end - index
            if current.count + frameCount > room, !current.isEmpty {
                messages.append(Message(payload: current, part: nil))
                current = []
            }
            if frameCount > room {
                let parts = (frameCount + room - 1) / room
                for p in 0..<parts {
                    let from = index + p * room
                    messages.append(Message(payload: Array(frames[from..<min(end, from + room)]), part: "\(p)/\(parts)"))
                }
            } else {
                current.append(contentsOf: frames[index..<end])
            }
            index = end
        }
        if !current.isEmpty { messages.append(Message(payload: current, part: nil)) }
        return messages
    }

    /// Joins parts from one sender; hands back the bytes of whole frames to decode.
    public struct Joiner {
        private var parts: [UInt8] = []
        private var next = 0
        private var total = 0
        /// The bound on a joined frame (the receiver's frame bound), so parts cannot grow without end.
        private let bytesMax: Int

        public init(bytesMax: Int) { self.bytesMax = bytesMax }

        /// The whole frames `payload` completes, or nil while a frame is incomplete or was dropped.
        public mutating func accept(_ payload: [UInt8], part: String?) -> [UInt8]? {
            guard let part else {
                reset()
                return payload
            }
            let fields = part.split(separator: "/")
            guard fields.count == 2, let i = Int(fields[0]), let n = Int(fields[1]), n >= 1, i >= 0, i < n else {
                reset()
                return nil
            }
            if i == 0 { reset(); total = n }
            guard i == next, n == total, parts.count + payload.count <= bytesMax + LinkCodec.lengthPrefixCount else {
                reset()  // a part went missing (a reconnection): the frame is lost
                return nil
            }
            parts.append(contentsOf: payload)
            next += 1
            guard next == total else { return nil }
            let whole = parts
            reset()
            return whole
        }

        private mutating func reset() {
            parts = []
            next = 0
            total = 0
        }
    }
}
