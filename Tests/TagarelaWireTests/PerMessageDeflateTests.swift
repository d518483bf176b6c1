// PerMessageDeflateTests: every outcome of negotiating permessage-deflate from a Sec-WebSocket-Extensions offer, and the 101 that carries it.

import TagarelaWire
import XCTest

final class PerMessageDeflateTests: XCTestCase {
    private let base = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

    private func answer(_ values: String...) -> String? {
        PerMessageDeflate.negotiate(values)?.responseHeaderValue
    }

    func testPlainOfferGetsNoContextTakeoverBothWays() {
        XCTAssertEqual(answer("permessage-deflate"), base)
        XCTAssertEqual(PerMessageDeflate.negotiate(["permessage-deflate"])?.serverMaxWindowBits, 15)
    }

    /// What Chromium and Firefox send.
    func testBrowserOfferWithClientMaxWindowBitsWithoutValue() {
        XCTAssertEqual(answer("permessage-deflate; client_max_window_bits"), base)
    }

    func testEachParameterAlone() {
        XCTAssertEqual(answer("permessage-deflate; server_no_context_takeover"), base)
        XCTAssertEqual(answer("permessage-deflate; client_no_context_takeover"), base)
        XCTAssertEqual(answer("permessage-deflate; client_max_window_bits=10"), base)
        XCTAssertEqual(answer("permessage-deflate; server_max_window_bits=12"), base + "; server_max_window_bits=12")
        XCTAssertEqual(PerMessageDeflate.negotiate(["permessage-deflate; server_max_window_bits=12"])?.serverMaxWindowBits, 12)
        XCTAssertEqual(answer("permessage-deflate;server_no_context_takeover;client_no_context_takeover;"
                              + "server_max_window_bits=15;client_max_window_bits=15"),
                       base + "; server_max_window_bits=15")
    }

    /// zlib cannot deflate raw with a window of 8; 8 is answered as asked and served with 9,
    /// whose matches never reach further back than 250 bytes (TagarelaZlib's RawDeflater).
    func testWindowEightIsAccepted() {
        XCTAssertEqual(answer("permessage-deflate; server_max_window_bits=8"), base + "; server_max_window_bits=8")
        XCTAssertEqual(PerMessageDeflate.negotiate(["permessage-deflate; server_max_window_bits=8"])?.serverMaxWindowBits, 8)
    }

    func testQuotedValuesAndSpacing() {
        XCTAssertEqual(answer("permessage-deflate ;\tserver_max_window_bits = \"10\" ; client_max_window_bits=\"9\""),
                       base + "; server_max_window_bits=10")
        XCTAssertEqual(answer("permessage-deflate; server_max_window_bits=\"1\\1\""), base + "; server_max_window_bits=11")
    }

    func testOffersThatAreDeclined() {
        let declined = [
            "permessage-deflate; server_max_window_bits",           // value required
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",       // leading zero
            "permessage-deflate; server_max_window_bits=09",
            "permessage-deflate; server_max_window_bits=abc",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; server_no_context_takeover=1",     // no value allowed
            "permessage-deflate; client_no_context_takeover=\"x\"",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",   // duplicate
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            "permessage-deflate; mystery",                           // unknown parameter
            "permessage-deflate; Server_No_Context_Takeover",
            "x-webkit-deflate-frame",                                // another extension
            "Permessage-Deflate",
            "",
        ]
        for offer in declined { XCTAssertNil(answer(offer), offer) }
        XCTAssertNil(PerMessageDeflate.negotiate([]))
    }

    func testFirstAcceptableOfferOfSeveralWins() {
        XCTAssertEqual(answer("permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=10"),
                       base + "; server_max_window_bits=10")
        XCTAssertEqual(answer("x-webkit-deflate-frame, permessage-deflate; mystery, permessage-deflate"), base)
        // Across header lines, in order.
        XCTAssertEqual(answer("permessage-deflate; bad", "permessage-deflate; server_max_window_bits=9"),
                       base + "; server_max_window_bits=9")
        XCTAssertEqual(answer("foo; a=1, , permessage-deflate"), base)
    }

    /// A header that breaks the RFC 6455 section 9.1 grammar negotiates nothing.
    func testMalformedHeaderNegotiatesNothing() {
        let malformed = [
            "permessage-deflate; server_max_window_bits=\"10",       // unterminated quote
            "permessage-deflate; server_max_window_bits=\"\"",       // empty quoted value
            "permessage-deflate; server_max_window_bits=\"1 0\"",    // quoted value not a token
            "permessage-deflate; =10",
            "permessage-deflate;; client_max_window_bits",
            "permessage-deflate client_max_window_bits",
            "permessage-deflate; server_max_window_bits=10 11",
            "(permessage-deflate)",
        ]
        for header in malformed {
            XCTAssertNil(PerMessageDeflate.parse([header]), header)
            XCTAssertNil(answer(header), header)
        }
        // One bad line spoils the whole header: the offers cannot be read reliably.
        XCTAssertNil(answer("permessage-deflate", "permessage-deflate; =1"))
    }

    func testParseKeepsOffersAndParametersInOrder() {
        XCTAssertEqual(PerMessageDeflate.parse(["a; x=1; y, b"]), [
            .init(name: "a", parameters: [.init(name: "x", value: "1"), .init(name: "y", value: nil)]),
            .init(name: "b", parameters: []),
        ])
    }

    func testTheHandshakeCarriesTheAnswer() {
        var head = HTTPRequestHead(method: "GET", target: "/ws", version: .http1_1, headers: [
            ("Host", "h"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ])
        guard case .accept(let plain) = WebSocketHandshake.evaluate(head, allowedOrigins: nil) else {
            return XCTFail("refused")
        }
        XCTAssertFalse(String(decoding: plain, as: UTF8.self).contains("Sec-WebSocket-Extensions"))
        head.headers.append(("Sec-WebSocket-Extensions", "permessage-deflate"))
        let agreement = PerMessageDeflate.negotiate(head.values(of: "Sec-WebSocket-Extensions"))
        guard case .accept(let response) = WebSocketHandshake.evaluate(head, allowedOrigins: nil,
                                                                        extensions: agreement?.responseHeaderValue) else {
            return XCTFail("refused")
        }
        XCTAssertTrue(String(decoding: response, as: UTF8.self).contains("\r\nSec-WebSocket-Extensions: \(base)\r\n"))
    }
}
