// ByteExactKeyTests: ids fold only ASCII case and de-duplicate by bytes; the id alphabets have no non-ASCII equivalents.

import TagarelaJSON
import TagarelaModel
import XCTest

final class ByteExactKeyTests: XCTestCase {
    func parse(_ s: String) throws -> Request { try Request.parse(Array(s.utf8), allowInternal: true) }

    /// Ids that cannot be usernames are kept with only A-Z folded: Unicode lower-casing would
    /// turn KELVIN SIGN into "k" and make "\u{212A}im" look up "kim".
    func testInvalidIDsFoldOnlyASCIICase() throws {
        let r = try parse(#"{"type":"get_presence","user_ids":["\#u{212A}IM","Kim","\#u{130}X"]}"#)
        XCTAssertEqual(r.body, .getPresence(userIDs: ["\u{212A}im", "kim", "\u{130}x"]))
    }

    /// De-duplication is by bytes: canonically equivalent but different ids stay two ids.
    func testIDsAreDeduplicatedByBytes() throws {
        let r = try parse(#"{"type":"users_exist","user_ids":["caf\#u{E9}","cafe\#u{301}","caf\#u{E9}","ana","ANA"]}"#)
        guard case .usersExist(let ids) = r.body else { return XCTFail("\(r)") }
        XCTAssertEqual(ids.map { Array($0.utf8) }, [Array("caf\u{E9}".utf8), Array("cafe\u{301}".utf8), Array("ana".utf8)])
    }

    /// search_users folds only ASCII case in its query, like usernames.
    func testSearchQueryFoldsOnlyASCIICase() throws {
        XCTAssertEqual(try parse(#"{"type":"search_users","query":"\#u{212A}A"}"#).body, .searchUsers(query: "\u{212A}a", limit: 20))
    }

    /// Why the tables keyed by user ids, chat ids and session ids may stay `String`-keyed: every
    /// such key is ASCII by construction (usernames `a-z 0-9 _ . -`, chat ids `d:`/`g:` with
    /// those and hex, session ids hex), two ASCII strings are equal exactly when their bytes
    /// are, and no non-ASCII string is canonically equivalent to a string of those characters:
    /// the only scalars that normalize to ASCII are U+037E (";"), U+1FEF ("`") and U+212A ("K").
    /// This pins that fact against the toolchain's Unicode tables.
    func testNoNonASCIIScalarEqualsAnIDCharacter() {
        let ascii = (0x20...0x7E).map { String(UnicodeScalar(UInt8($0))) }
        let asciiSet = Set(ascii)
        var equivalents: [UInt32] = []
        for v in UInt32(0x80)...0x10FFFF {
            guard let s = UnicodeScalar(v) else { continue }
            if asciiSet.contains(String(s)) { equivalents.append(v) }
        }
        XCTAssertEqual(equivalents, [0x037E, 0x1FEF, 0x212A])
        let idAlphabet = Set("abcdefghijklmnopqrstuvwxyz0123456789_.-:".map { String($0) })
        for v in equivalents {
            let s = String(UnicodeScalar(v)!)
            XCTAssertFalse(idAlphabet.contains(s), "U+\(String(v, radix: 16)) is equivalent to an id character")
        }
    }
}
