// ChatState: one chat's membership, message history, idempotency index and per-member read markers.

import TagarelaJSON
import TagarelaModel

/// A member's read marker, and of its moves only those `read_at` can still ask for.
///
/// `read_at` of a message is the earliest time a current member other than its sender had
/// their marker reach it (PROTOCOL.md 2.3, 3.3). So each member's contribution is a step
/// function: a move (seq, time) answers "time" for every message after the previous move up
/// to seq. Which of those steps can a future answer still need?
/// - A step that covers only the member's own messages: `read_at` never asks a message's
///   sender. Sending with every earlier message read makes exactly such a step, and a chatty
///   sender made one per message. It is kept only while it is the last (it holds the marker's
///   position) and replaced by the next move, which then answers for the messages in between,
///   all the member's own.
/// - A step with the same time as the one before: the two answer alike, so they become one.
/// - Every other step: any other member may leave (their marker is dropped with them), so any
///   member can become a message's only reader; its time is then the answer. Kept.
/// A member keeps one step per move that reached another member's message at a new time,
/// plus one, instead of one per move. Snapshots store the kept steps in the same
/// `h` list as before; a snapshot that holds every move (older versions wrote those) loads
/// through the same `move`, so it is pruned on load and answers the same.
struct ReadMarker: Equatable {
    /// Seqs reached, strictly increasing; the last is the marker.
    private(set) var seqs: [Int64] = []
    /// When each seq in `seqs` was reached.
    private(set) var times: [Int64] = []
    /// The last step covers only the member's own messages (then the next move replaces it).
    private var lastStepIsOwn = false

    /// The current marker (0: nothing read).
    var seq: Int64 { seqs.last ?? 0 }

    /// When the marker first reached `seq`, if it has. Exact for a message of another member;
    /// for one of the member's own messages it may be a later move's time, which `read_at`
    /// never asks for.
    func reachedAt(_ seq: Int64) -> Int64? {
        // Binary search for the first kept step with seqs[k] >= seq.
        var lo = 0
        var hi = seqs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if seqs[mid] >= seq { hi = mid } else { lo = mid + 1 }
        }
        return lo < seqs.count ? times[lo] : nil
    }

    /// Moves forward to `seq` at `time`; returns false (and changes nothing) when `seq` is not
    /// past the marker. `coversOthers(from)` says whether a message of another member lies in
    /// `from+1 ... seq` (`from` is the marker before the move); it is asked only then.
    mutating func move(to seq: Int64, at time: Int64, coversOthers: (_ from: Int64) -> Bool) -> Bool {
        let from = self.seq
        guard seq > from else { return false }
        var covers = coversOthers(from)
        if let last = times.last, lastStepIsOwn || last == time {
            // The merged step answers for the dropped one's messages too: a covered message
            // of another member keeps the same time (equal times), or there was none (own).
            covers = covers || !lastStepIsOwn
            seqs.removeLast()
            times.removeLast()
        }
        seqs.append(seq)
        times.append(time)
        lastStepIsOwn = !covers
        return true
    }
}

/// The mutable state of one chat. A class so the hot path mutates it in place, without
/// copy-on-write of the history array.
final class ChatState {
    /// Identity and members.
    var chat: Chat
    /// Membership test in O(1) beside the ordered `chat.memberIDs`.
    var memberSet: Set<String>
    /// History: `messages[k].seq == k + 1` (chunked, see `MessageLog`).
    var messages = MessageLog()
    /// Read markers of current members.
    var markers: [String: ReadMarker] = [:]
    /// Idempotency index: `sender \0 client_msg_id` -> seq. Keyed by bytes: two ids that are
    /// canonically equivalent but spelled differently are two keys (PROTOCOL.md 3.1).
    var clientMsgIndex: [ByteKey: Int64] = [:]

    init(chat: Chat) {
        self.chat = chat
        self.memberSet = Set(chat.memberIDs)
    }

    /// A deep copy (for resharding, where old and new engines must not share state).
    func copy() -> ChatState {
        let c = ChatState(chat: chat)
        c.messages = messages
        c.markers = markers
        c.clientMsgIndex = clientMsgIndex
        return c
    }

    var id: String { chat.id }
    var lastSeq: Int64 { Int64(messages.count) }

    /// Newest activity: the last message's time, else the creation time.
    var lastActivity: Int64 { messages.last?.timestamp ?? chat.createdAt }

    func isMember(_ user: String) -> Bool { memberSet.contains(user) }

    static func clientKey(sender: String, clientMsgID: String) -> ByteKey { ByteKey(sender + "\u{0}" + clientMsgID) }

    func marker(of user: String) -> Int64 { markers[user]?.seq ?? 0 }

    /// Messages after the member's marker. Sending moves the sender's marker, so one's own
    /// messages never count.
    func unreadCount(for user: String) -> Int {
        guard isMember(user) else { return 0 }
        return Int(max(0, lastSeq - marker(of: user)))
    }

    /// Moves a member's marker forward; false when it would not move.
    @discardableResult
    func moveMarker(of user: String, to seq: Int64, at time: Int64) -> Bool {
        markers[user, default: ReadMarker()].move(to: seq, at: time) { from in
            // Stops at the first message of another member. Moves of one member cover
            // disjoint ranges, so over its life a marker looks at each message at most once;
            // sending looks at one (the sender's own) or stops at the first unread one.
            var k = from + 1
            while k <= seq {
                guard k <= lastSeq else { return true }  // not stored (cannot happen): assume others'
                if messages[Int(k - 1)].senderID != user { return true }
                k += 1
            }
            return false
        }
    }

    func addMember(_ user: String) {
        guard memberSet.insert(user).inserted else { return }
        chat.memberIDs.append(user)
    }

    func removeMember(_ user: String) {
        guard memberSet.remove(user) != nil else { return }
        chat.memberIDs.removeAll { $0 == user }
        markers[user] = nil
    }

    /// Appends the next message and moves its sender's marker to it.
    func append(_ m: Message) {
        messages.append(m)
        if let cmid = m.clientMsgID {
            clientMsgIndex[ChatState.clientKey(sender: m.senderID, clientMsgID: cmid)] = m.seq
        }
        moveMarker(of: m.senderID, to: m.seq, at: m.timestamp)
    }

    /// `read_by` (the first `FieldLimits.readByIDsMax` members other than the sender whose
    /// marker is at or past the message, in member order), `read_count` (all of them) and
    /// `read_at` (the earliest time one of them reached it). Only the listed ids are collected,
    /// so encoding a message of a large group allocates a bounded list.
    func readState(of m: Message) -> (readBy: [String], readCount: Int, readAt: Int64?) {
        var readBy: [String] = []
        var count = 0
        var readAt: Int64?
        for member in chat.memberIDs where member != m.senderID {
            guard let marker = markers[member], let t = marker.reachedAt(m.seq) else { continue }
            if readBy.count < FieldLimits.readByIDsMax { readBy.append(member) }
            count += 1
            readAt = min(readAt ?? t, t)
        }
        return (readBy, count, readAt)
    }

    func writeMessage(_ m: Message, to w: inout JSONWriter) {
        let state = readState(of: m)
        m.write(to: &w, readBy: state.readBy, readCount: state.readCount, readAt: state.readAt)
    }

    func encodeMessage(_ m: Message) -> [UInt8] {
        let state = readState(of: m)
        return m.encoded(readBy: state.readBy, readCount: state.readCount, readAt: state.readAt)
    }

    /// The chat object as `reader` sees it.
    func encode(for reader: String) -> [UInt8] {
        let last = messages.last.map { encodeMessage($0) }
        return chat.encoded(lastMessage: last, unreadCount: unreadCount(for: reader))
    }

    /// One `type` event per distinct view of the chat, addressed to `recipients`. Readers
    /// differ only in `unread_count`, so members with the same count share one encoding.
    func chatEvents(type: String, to recipients: [String]) -> [EngineEvent] {
        guard !recipients.isEmpty else { return [] }
        let last = messages.last.map { encodeMessage($0) }
        var groups: [(unread: Int, users: [String])] = []
        for r in recipients {
            let u = unreadCount(for: r)
            if let k = groups.firstIndex(where: { $0.unread == u }) {
                groups[k].users.append(r)
            } else {
                groups.append((u, [r]))
            }
        }
        return groups.map { g in
            EngineEvent(userIDs: g.users, json: Events.encode(type: type, payload: chat.encoded(lastMessage: last, unreadCount: g.unread)))
        }
    }
}
