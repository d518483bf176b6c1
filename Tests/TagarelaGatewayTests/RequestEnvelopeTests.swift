// RequestEnvelopeTests: the shared checks of every request, and the request_id salvaged from bytes the parser refused.
import XCTest
@testable import TagarelaGateway

final class RequestEnvelopeTests: XCTestCase {
    private func parse(_ text: String) -> RequestEnvelope {
        Array(text.utf8).withUnsafeBytes { RequestEnvelope.parse($0) }
    }

    private func invalidID(_ text: String, line: UInt = #line) -> String?? {
        guard case .invalid(let type, let requestID, _) = parse(text) else {
            XCTFail("expected an invalid request: \(text)", line: line)
            return nil
        }
        XCTAssertEqual(type, "error", line: line)
        return .some(requestID)
    }

    func testRequestIDIsSalvagedFromInvalidJSON() {
        // Duplicate keys, a trailing comma, a lone surrogate: refused, but the id is still plain.
        XCTAssertEqual(invalidID(#"{"type":"message","request_id":"r7","type":"x"}"#), .some("r7"))
        XCTAssertEqual(invalidID(#"{"request_id" : "a-1", "type":"typing",}"#), .some("a-1"))
        XCTAssertEqual(invalidID(#"{"type":"message","content":"\ud800","request_id":"z"}"#), .some("z"))
    }

    func testNoRequestIDWhenItCannotBeReadForCertain() {
        XCTAssertEqual(invalidID(#"not json"#), .some(nil))
        XCTAssertEqual(invalidID(#"{"request_id":7,}"#), .some(nil), "not a string")
        XCTAssertEqual(invalidID(#"{"request_id":"a\"b",}"#), .some(nil), "escapes are not guessed at")
        XCTAssertEqual(invalidID(#"{"request_id":"unterminated"#), .some(nil))
        let long = String(repeating: "x", count: 65)
        XCTAssertEqual(invalidID(#"{"request_id":"\#(long)",}"#), .some(nil), "over 64 characters")
        XCTAssertEqual(invalidID(#"{"request_id""#), .some(nil))
    }

    func testValidRequestKeepsItsID() {
        guard case .valid(_, let requestID, _) = parse(#"{"type":"typing","request_id":"ok1","chat_id":"c"}"#) else {
            return XCTFail("valid request")
        }
        XCTAssertEqual(requestID, "ok1")
    }
}
