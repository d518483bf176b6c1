// ByteExactKeyTests: client-supplied strings used as keys compare byte for byte, never by Unicode canonical equivalence.

import TagarelaJSON
import TagarelaShard
import XCTest

final class ByteExactKeyTests: XCTestCase {
    /// "café" with U+00E9 and "cafe" + U+0301 are equal as Swift Strings (canonical
    /// equivalence), but they are two different client_msg_ids: both messages are stored.
    func testComposedAndDecomposedClientMsgIDsAreTwoKeys() throws {
        let h = EngineHarness()
        h.register("alice", "bob")
        let chat = h.directChat("alice", "bob")
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        XCTAssertEqual(composed, decomposed, "the premise: Swift String equality is canonical equivalence")
        let first = h.json(h.say("alice", chat, "one", cmid: composed))
        let second = h.say("alice", chat, "two", cmid: decomposed)
        XCTAssertEqual(first["message"]?["seq"], 1)
        XCTAssertEqual(h.json(second)["message"]?["seq"], 2, "the second key is a new message")
        XCTAssertEqual(h.json(second)["message"]?["client_msg_id"]?.string.map { Array($0.utf8) }, Array(decomposed.utf8))
        XCTAssertEqual(second.records.count, 1)
        XCTAssertEqual(second.events.count, 1)
        // Each resend finds its own message, live and after a replay or a snapshot.
        func check(_ engine: ShardEngine, _ what: String) {
            let saved = h.engine
            h.engine = engine
            defer { h.engine = saved }
            XCTAssertEqual(h.json(h.say("alice", chat, "again", cmid: composed))["message"]?["content"], "one", what)
            XCTAssertEqual(h.json(h.say("alice", chat, "again", cmid: decomposed))["message"]?["content"], "two", what)
        }
        check(h.engine, "live")
        check(try ShardEngine.load(snapshot: nil, records: h.journal, config: h.config), "replayed")
        check(try ShardEngine.load(snapshot: h.engine.snapshot(), records: [], config: h.config), "from a snapshot")
    }

    /// KELVIN SIGN (U+212A) lower-cases to ASCII "k" under Unicode rules; an id holding it is
    /// not the user "kim" (usernames are ASCII and only ASCII case is folded).
    func testKelvinSignDoesNotNameAnASCIIUser() {
        let h = EngineHarness()
        h.register("kim")
        let missing = h.ask(#"{"type":"users_exist","user_ids":["\#u{212A}IM","KIM"]}"#, isInternal: true)
        XCTAssertEqual(missing["missing"], ["\u{212A}im"])
        let found = h.ask(#"{"type":"search_users","query":"\#u{212A}"}"#, as: "kim")
        XCTAssertEqual(found["users"], [], "a non-ASCII prefix matches no ASCII username")
        XCTAssertEqual(h.ask(#"{"type":"search_users","query":"K"}"#, as: "kim")["users"]?.array?.count, 1)
    }
}
