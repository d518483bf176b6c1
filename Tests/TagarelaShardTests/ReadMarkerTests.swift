// ReadMarkerTests: read markers keep only the moves read_at can still need, and every answer matches a model that keeps them all.

import TagarelaJSON
@testable import TagarelaShard
import TestSupport
import XCTest

final class ReadMarkerTests: XCTestCase {
    /// A sender who has read everything makes a step per message that only covers their own
    /// message: none is kept past the next move. A reader's separate reads are all kept (each
    /// is some message's `read_at` once the other readers have left).
    func testOwnMessagesDoNotGrowTheSendersMarker() {
        let h = EngineHarness()
        h.register("alice", "bob", "carol")
        let g = h.group("alice", ["bob", "carol"])
        for i in 1...300 {
            h.clock.advance(ms: 1)
            h.say("alice", g, "m\(i)")
            if i % 3 == 0 {
                h.clock.advance(ms: 1)
                h.send(#"{"type":"mark_read","chat_id":"\#(g)","seq":\#(i)}"#, as: "bob")
            }
        }
        let chat = h.engine.chats[g]!
        XCTAssertEqual(chat.markers["alice"]?.seqs, [300], "one step: the marker itself")
        XCTAssertEqual(chat.markers["bob"]?.seqs.count, 100, "one step per read, each the answer for three messages")
        XCTAssertNil(chat.markers["carol"])
        XCTAssertEqual(answers(h, g), FullHistoryModel(h.journal).answers(g))
    }

    /// Two moves in the same millisecond answer alike: one step.
    func testMovesAtTheSameTimeBecomeOneStep() {
        let h = EngineHarness()
        h.register("alice", "bob")
        let d = h.directChat("alice", "bob")
        for i in 1...5 { h.say("alice", d, "m\(i)") }
        for seq in 1...5 { h.send(#"{"type":"mark_read","chat_id":"\#(d)","seq":\#(seq)}"#, as: "bob") }
        XCTAssertEqual(h.engine.chats[d]!.markers["bob"]?.seqs, [5])
        XCTAssertEqual(answers(h, d), FullHistoryModel(h.journal).answers(d))
    }

    /// Seeded random conversations with reads, paging reads, joins and leaves: after every
    /// request the engine's read_by, read_count and read_at of every message equal those of a
    /// model that keeps every move, and so do engines rebuilt from the journal alone and from
    /// a snapshot.
    func testAnswersMatchAModelKeepingEveryMove() throws {
        for seed in 1...6 as ClosedRange<UInt64> {
            var rng = SeededRandom(seed: seed)
            let h = EngineHarness()
            let people = ["alice", "bob", "carol", "dave", "erin"]
            for name in people { h.register(name) }
            let g = h.group("alice", ["bob", "carol", "dave"])
            for step in 0..<250 {
                h.clock.advance(ms: Int64(rng.below(3)))  // 0 ms often: equal times
                let who = people[rng.below(people.count)]
                let last = h.engine.chats[g]!.lastSeq
                switch rng.below(10) {
                case 0...3: h.say(who, g, "s\(step)")
                case 4...5: h.send(#"{"type":"mark_read","chat_id":"\#(g)","seq":\#(rng.below(Int(last) + 3))}"#, as: who)
                case 6: h.send(#"{"type":"get_messages","chat_id":"\#(g)","limit":\#(1 + rng.below(5)),"before_seq":\#(1 + rng.below(Int(last) + 2))}"#, as: who)
                case 7: h.send(#"{"type":"leave_group","group_id":"\#(g)"}"#, as: who == "alice" ? "erin" : who)
                default: h.send(#"{"type":"add_group_member","group_id":"\#(g)","user_id":"\#(who)"}"#, as: "alice")
                }
                XCTAssertEqual(answers(h, g), FullHistoryModel(h.journal).answers(g), "seed \(seed), step \(step)")
            }
            let replayed = try ShardEngine.load(snapshot: nil, records: h.journal, config: h.config)
            XCTAssertEqual(answers(replayed, g), answers(h, g), "seed \(seed): journal replay")
            let reloaded = try ShardEngine.load(snapshot: h.engine.snapshot(), records: [], config: h.config)
            XCTAssertEqual(answers(reloaded, g), answers(h, g), "seed \(seed): snapshot")
            XCTAssertEqual(reloaded.snapshot(), h.engine.snapshot(), "seed \(seed): the kept steps load as they were")
        }
    }

    /// A snapshot written before markers were pruned holds every move in its `h` lists; it
    /// loads, answers the same, and is pruned on load to what the engine keeps itself.
    func testASnapshotWithEveryMoveLoadsPrunedWithTheSameAnswers() throws {
        var rng = SeededRandom(seed: 42)
        let h = EngineHarness()
        for name in ["alice", "bob", "carol"] { h.register(name) }
        let g = h.group("alice", ["bob", "carol"])
        for step in 0..<120 {
            h.clock.advance(ms: 1 + Int64(rng.below(2)))
            let who = ["alice", "bob", "carol"][rng.below(3)]
            if rng.below(3) == 0 {
                h.send(#"{"type":"mark_read","chat_id":"\#(g)","seq":\#(1 + rng.below(step + 1))}"#, as: who)
            } else {
                h.say(who, g, "s\(step)")
            }
        }
        let model = FullHistoryModel(h.journal)
        let old = try model.withEveryMove(snapshot: h.engine.snapshot())
        XCTAssertGreaterThan(old.count, h.engine.snapshot().count, "the old form holds more steps")
        let loaded = try ShardEngine.load(snapshot: old, records: [], config: h.config)
        XCTAssertEqual(answers(loaded, g), model.answers(g))
        XCTAssertEqual(loaded.snapshot(), h.engine.snapshot())
    }

    // MARK: - Helpers

    /// (read_by, read_count, read_at) of every message of `chat`, as a member sees them.
    private func answers(_ h: EngineHarness, _ chat: String) -> [String] { answers(h.engine, chat) }

    private func answers(_ engine: ShardEngine, _ chat: String) -> [String] {
        let state = engine.chats[chat]!
        return state.messages.map { m in
            let r = state.readState(of: m)
            return "\(m.seq) \(r.readBy) \(r.readCount) \(r.readAt.map(String.init) ?? "null")"
        }
    }
}

/// The documented semantics over every move, from the journal alone: a member's marker is
/// every (seq, time) it moved to (a send moves the sender's); `read_at` of a message is the
/// earliest time a current member other than the sender first reached it; a member who leaves
/// takes their marker along (PROTOCOL.md 2.3, 3.3).
private struct FullHistoryModel {
    struct Chat {
        var members: [String] = []
        var senders: [String] = []
        var moves: [String: [(seq: Int64, at: Int64)]] = [:]

        mutating func move(_ user: String, _ seq: Int64, _ at: Int64) {
            if seq > moves[user]?.last?.seq ?? 0 { moves[user, default: []].append((seq, at)) }
        }
    }
    var chats: [String: Chat] = [:]

    init(_ journal: [[UInt8]]) {
        for record in journal {
            let r = try! JSON.parse(record)
            guard let id = r["c"]?.string else { continue }
            let user = r["u"]?.string ?? ""
            switch r["op"]?.string {
            case "chat": chats[id] = Chat(members: r["m"]!.array!.map { $0.string! })
            case "add": if !chats[id]!.members.contains(user) { chats[id]!.members.append(user) }
            case "remove":
                chats[id]!.members.removeAll { $0 == user }
                chats[id]!.moves[user] = nil
            case "msg":
                chats[id]!.senders.append(user)
                chats[id]!.move(user, r["s"]!.int!, r["at"]!.int!)
            case "read": chats[id]!.move(user, r["s"]!.int!, r["at"]!.int!)
            default: continue
            }
        }
    }

    func answers(_ id: String) -> [String] {
        let chat = chats[id]!
        return chat.senders.enumerated().map { index, sender in
            let seq = Int64(index + 1)
            var readers: [String] = []
            var readAt: Int64?
            for member in chat.members where member != sender {
                guard let first = chat.moves[member]?.first(where: { $0.seq >= seq }) else { continue }
                readers.append(member)
                readAt = min(readAt ?? first.at, first.at)
            }
            return "\(seq) \(Array(readers.prefix(20))) \(readers.count) \(readAt.map(String.init) ?? "null")"
        }
    }

    /// `snapshot` with every chat's markers replaced by every move, as older versions wrote them.
    func withEveryMove(snapshot: [UInt8]) throws -> [UInt8] {
        guard case .object(let root) = try JSON.parse(snapshot) else { throw ShardDataError.corrupt("not an object") }
        let entries: [(String, JSON)] = root.keys.map { key in
            guard key == "chats" else { return (key, root[key]!) }
            return (key, .array(root[key]!.array!.map { chat in
                let object = chat.object!
                return .object(JSONObject(object.keys.map { field in
                    guard field == "read" else { return (field, object[field]!) }
                    let moves = chats[object["c"]!.string!]!.moves
                    return (field, .array(moves.keys.sorted().map { user in
                        .object(JSONObject([("u", .string(user)),
                                            ("h", .array(moves[user]!.flatMap { [JSON.int($0.seq), .int($0.at)] }))]))
                    }))
                }))
            }))
        }
        return JSON.object(JSONObject(entries)).encoded()
    }
}
