// NATSEncoderTests: the exact bytes of every client operation, subject rules and server URLs.
import TagarelaJSON
import TagarelaNATS
import XCTest

final class NATSEncoderTests: XCTestCase {
    func testConnectCarriesTheAgreedFields() throws {
        var out: [UInt8] = []
        NATSEncoder.connect(name: "gw-1", token: "t0k", user: nil, password: nil, into: &out)
        let text = String(decoding: out, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("CONNECT {") && text.hasSuffix("}\r\n"), text)
        let json = try JSON.parse(Array(out.dropFirst(8).dropLast(2)))
        XCTAssertEqual(json["verbose"], false)
        XCTAssertEqual(json["pedantic"], false)
        XCTAssertEqual(json["headers"], true)
        XCTAssertEqual(json["no_responders"], true)
        XCTAssertEqual(json["protocol"], 1)
        XCTAssertEqual(json["name"], "gw-1")
        XCTAssertEqual(json["auth_token"], "t0k")
        XCTAssertNil(json["user"])
        out = []
        NATSEncoder.connect(name: "w", token: nil, user: "u", password: "p\"w", into: &out)
        let userJSON = try JSON.parse(Array(out.dropFirst(8).dropLast(2)))
        XCTAssertEqual(userJSON["user"], "u")
        XCTAssertEqual(userJSON["pass"], "p\"w")
        XCTAssertNil(userJSON["auth_token"])
    }

    func testOperationsBytes() {
        var out: [UInt8] = []
        NATSEncoder.publish("a.b", reply: nil, headers: [], payload: Array("hi".utf8), into: &out)
        NATSEncoder.publish("a.b", reply: "r.1", headers: [], payload: [], into: &out)
        NATSEncoder.publish("a.b", reply: "r.2", headers: [("K", "v")], payload: Array("xy".utf8), into: &out)
        NATSEncoder.subscribe("a.*", queue: nil, sid: 1, into: &out)
        NATSEncoder.subscribe("a.>", queue: "q", sid: 2, into: &out)
        NATSEncoder.unsubscribe(sid: 2, into: &out)
        NATSEncoder.ping(into: &out)
        NATSEncoder.pong(into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self),
                       "PUB a.b 2\r\nhi\r\nPUB a.b r.1 0\r\n\r\nHPUB a.b r.2 18 20\r\nNATS/1.0\r\nK: v\r\n\r\nxy\r\n"
                       + "SUB a.* 1\r\nSUB a.> q 2\r\nUNSUB 2\r\nPING\r\nPONG\r\n")
        XCTAssertEqual(NATSEncoder.bodyBytes(headers: [("K", "v")], payloadBytes: 2), 20)
    }

    func testSubjectRules() {
        for good in ["a", "a.b", "tagarela.shard.0.req", "_INBOX.abc-_d"] {
            XCTAssertTrue(NATSSubject.isValid(good, wildcards: false), good)
        }
        for bad in ["", "a..b", ".a", "a.", "a b", "a\tb", "a\r\nb", "a.*", "a.>"] {
            XCTAssertFalse(NATSSubject.isValid(bad, wildcards: false), bad)
        }
        for good in ["a.*", "a.>", "*", ">", "*.b.>"] { XCTAssertTrue(NATSSubject.isValid(good, wildcards: true), good) }
        for bad in ["a.>.b", "a..*", "a.*b.c x"] { XCTAssertFalse(NATSSubject.isValid(bad, wildcards: true), bad) }
        XCTAssertTrue(NATSSubject.isValidToken("tagarela-2"))
        for bad in ["", "a.b", "a b", "*", ">", "a>"] { XCTAssertFalse(NATSSubject.isValidToken(bad), bad) }
    }

    func testServerURLs() throws {
        XCTAssertEqual(try NATSServerURL.parse("nats://127.0.0.1:4222"), NATSServerURL(host: "127.0.0.1", port: 4222))
        XCTAssertEqual(try NATSServerURL.parse("10.0.0.5"), NATSServerURL(host: "10.0.0.5", port: 4222))
        XCTAssertEqual(try NATSServerURL.parse("nats://localhost:5000/"), NATSServerURL(host: "127.0.0.1", port: 5000))
        XCTAssertEqual(try NATSServerURL.parse("nats://s%40cret@127.0.0.1:1"),
                       NATSServerURL(host: "127.0.0.1", port: 1, token: "s@cret"))
        XCTAssertEqual(try NATSServerURL.parse("nats://bob:pa:ss@127.0.0.1:2"),
                       NATSServerURL(host: "127.0.0.1", port: 2, user: "bob", password: "pa:ss"))
        let list = try NATSServerURL.parseList("nats://127.0.0.1:1, nats://127.0.0.2:2,")
        XCTAssertEqual(list.map(\.description), ["nats://127.0.0.1:1", "nats://127.0.0.2:2"])
        for bad in ["http://127.0.0.1:1", "nats://example.com:4222", "nats://127.0.0.1:0", "nats://127.0.0.1:x",
                    "nats://1.2.3:4", ""] {
            XCTAssertThrowsError(try NATSServerURL.parseList(bad), bad)
        }
        XCTAssertThrowsError(try NATSServerURL.parseList("nats://127.0.0.1:1,tls://127.0.0.1:2")) {
            XCTAssertTrue("\($0)".contains("TLS is not offered"), "\($0)")
        }
        XCTAssertFalse("\(try NATSServerURL.parse("nats://secret@127.0.0.1:1"))".contains("secret"), "printed without credentials")
    }

    /// A refused URL is quoted in the error (startup messages and logs show it) without its
    /// token or password, whichever part of it is wrong.
    func testRefusedURLsAreQuotedWithoutCredentials() {
        for bad in ["nats://bob:hunter2@127.0.0.1:99999", "nats://hunter2@example.com:4222", "tls://hunter2@127.0.0.1:1",
                    "http://bob:hunter2@127.0.0.1:1", "nats://127.0.0.1:1,nats://bob:hunter2@127.0.0.1:x"] {
            XCTAssertThrowsError(try NATSServerURL.parseList(bad), bad) { error in
                XCTAssertFalse("\(error)".contains("hunter2"), "\(error)")
                XCTAssertTrue("\(error)".contains("127.0.0.1") || "\(error)".contains("example.com"), "\(error)")
            }
        }
    }
}
