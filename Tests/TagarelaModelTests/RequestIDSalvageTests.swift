// RequestIDSalvageTests: the request_id read from bytes the strict parser refused, and only when it is certain (PROTOCOL.md 3.4).
import XCTest
import TagarelaModel

final class RequestIDSalvageTests: XCTestCase {
    /// The failure of `text`, as the gateway (`Request.routing`) and the worker (`Request.parse`) give it.
    private func failure(_ text: String, line: UInt = #line) -> RequestFailure? {
        let bytes = Array(text.utf8)
        let routing: RequestFailure? = bytes.withUnsafeBytes { raw in
            do throws(RequestFailure) { _ = try Request.routing(raw); return nil } catch { return error }
        }
        var parsed: RequestFailure? = nil
        do { _ = try Request.parse(bytes) } catch { parsed = error }
        XCTAssertEqual(routing, parsed, "one answer on both sides", line: line)
        XCTAssertEqual(parsed?.type, "error", line: line)
        XCTAssertEqual(parsed?.error.code, .badRequest, line: line)
        XCTAssertNil(parsed?.knownType, "answered before any check of its type", line: line)
        return parsed
    }

    func testRequestIDIsSalvagedFromInvalidJSON() {
        // Duplicate keys, a trailing comma, a lone surrogate: refused, but the id is still plain.
        XCTAssertEqual(failure(#"{"type":"message","request_id":"r7","type":"x"}"#)?.requestID, "r7")
        XCTAssertEqual(failure(#"{"request_id" : "a-1", "type":"typing",}"#)?.requestID, "a-1")
        XCTAssertEqual(failure(#"{"type":"message","content":"\ud800","request_id":"z"}"#)?.requestID, "z")
        XCTAssertEqual(failure(#"{"request_id":"\#(String(repeating: "é", count: 64))",}"#)?.requestID,
                       String(repeating: "é", count: 64))
    }

    func testNoRequestIDWhenItCannotBeReadForCertain() {
        XCTAssertNotNil(failure(#"not json"#))
        XCTAssertNil(failure(#"not json"#)?.requestID)
        XCTAssertNil(failure(#"{"request_id":7,}"#)?.requestID, "not a string")
        XCTAssertNil(failure(#"{"request_id":"a\"b",}"#)?.requestID, "escapes are not guessed at")
        XCTAssertNil(failure(#"{"request_id":"unterminated"#)?.requestID)
        XCTAssertNil(failure(#"{"request_id":"\#(String(repeating: "x", count: 65))",}"#)?.requestID, "over 64 characters")
        XCTAssertNil(failure(#"{"request_id""#)?.requestID)
        XCTAssertNil(failure(#"["request_id","r1"]"#)?.requestID, "valid JSON that is not an object")
    }
}
