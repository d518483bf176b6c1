// DeliveryScannerTests: the minimal scan finds deliveries, acks and errors in real protocol shapes.
import XCTest
@testable import TagarelaBench

final class DeliveryScannerTests: XCTestCase {
    private func text(_ bytes: [UInt8], _ r: Range<Int>?) -> String? {
        guard let r else { return nil }
        return String(decoding: bytes[r], as: UTF8.self)
    }

    func testDelivery() {
        let json = #"{"type":"message:new","payload":{"id":"m1","chat_id":"g_abc","chat_session_id":"g_abc","seq":42,"sender_id":"b1_7","content":"t=1234567 u=7 xxxx","timestamp":"2025-01-01T00:00:00Z","client_msg_id":null,"read_by":[],"read_at":null}}"#
        let bytes = Array(json.utf8)
        let s = DeliveryScanner.scan(bytes)
        XCTAssertEqual(s.kind, .delivery)
        XCTAssertEqual(s.seq, 42)
        XCTAssertEqual(s.sentUs, 1_234_567)
        XCTAssertEqual(text(bytes, s.sender), "b1_7")
        XCTAssertEqual(text(bytes, s.chatID), "g_abc")
    }

    func testKeyOrderDoesNotMatter() {
        let json = #"{"type":"message:new","payload":{"content":"t=99 hi","sender_id":"u","seq":3,"chat_id":"c"}}"#
        let s = DeliveryScanner.scan(Array(json.utf8))
        XCTAssertEqual(s.kind, .delivery)
        XCTAssertEqual(s.seq, 3)
        XCTAssertEqual(s.sentUs, 99)
    }

    func testQuotedKeysInsideContentDoNotMatch() {
        // The content holds text that looks like keys, escaped as the server must write it.
        let json = #"{"type":"message:new","payload":{"content":"t=5 \"seq\":999 \"sender_id\":\"evil\"","seq":8,"sender_id":"good","chat_id":"c"}}"#
        let bytes = Array(json.utf8)
        let s = DeliveryScanner.scan(bytes)
        XCTAssertEqual(s.seq, 8)
        XCTAssertEqual(text(bytes, s.sender), "good")
        XCTAssertEqual(s.sentUs, 5)
    }

    func testAck() {
        let json = #"{"type":"message","request_id":"m17","status":"ok","message":{"id":"x","chat_id":"g1","seq":5,"sender_id":"b_1","content":"t=777 pad"}}"#
        let s = DeliveryScanner.scan(Array(json.utf8))
        XCTAssertEqual(s.kind, .messageAck)
        XCTAssertTrue(s.ok)
        XCTAssertEqual(s.seq, 5)
        XCTAssertEqual(s.sentUs, 777)
    }

    func testMessageError() {
        let json = #"{"type":"message","request_id":"m1","status":"error","code":"rate_limited","message":"slow down","retry_after_ms":20}"#
        let bytes = Array(json.utf8)
        let s = DeliveryScanner.scan(bytes)
        XCTAssertEqual(s.kind, .messageError)
        XCTAssertFalse(s.ok)
        XCTAssertEqual(text(bytes, s.code), "rate_limited")
    }

    func testOtherResponsesAndEvents() {
        let login = Array(#"{"type":"login","request_id":"r1","status":"ok","token":"a.b","user":{"id":"a"}}"#.utf8)
        XCTAssertEqual(DeliveryScanner.scan(login).kind, .otherResponse)
        XCTAssertTrue(DeliveryScanner.scan(login).ok)
        let bad = Array(#"{"type":"register","status":"error","code":"conflict","message":"taken"}"#.utf8)
        XCTAssertEqual(DeliveryScanner.scan(bad).kind, .otherResponse)
        XCTAssertEqual(text(bad, DeliveryScanner.scan(bad).code), "conflict")
        let event = Array(#"{"type":"chat:new","payload":{"id":"g"}}"#.utf8)
        XCTAssertEqual(DeliveryScanner.scan(event).kind, .otherEvent)
        let read = Array(#"{"type":"message:read","payload":{"chat_id":"g","seq":3}}"#.utf8)
        XCTAssertEqual(DeliveryScanner.scan(read).kind, .otherEvent)
    }

    func testUnreadableAndTruncated() {
        XCTAssertEqual(DeliveryScanner.scan(Array("hello".utf8)).kind, .unreadable)
        XCTAssertEqual(DeliveryScanner.scan([]).kind, .unreadable)
        let cut = Array(#"{"type":"message:new","payload":{"seq":"#.utf8)
        let s = DeliveryScanner.scan(cut)
        XCTAssertEqual(s.kind, .delivery)
        XCTAssertEqual(s.seq, -1)
        XCTAssertEqual(s.sentUs, -1)
        XCTAssertNil(s.sender)
    }

    func testEveryOffsetAndEveryTruncation() {
        let message = #","payload":{"id":"m","chat_id":"c9","seq":1234,"sender_id":"bob","content":"t=42 x"}}"#
        for pad in 0..<24 {
            // Padding inside the type value shifts every key to a new offset.
            let json = #"{"type":"message:new"# + #"",""# + "pad\(String(repeating: "s", count: pad))" + #"":"v"# + message
            let bytes = Array(json.utf8)
            let s = DeliveryScanner.scan(bytes)
            XCTAssertEqual(s.kind, .delivery, json)
            XCTAssertEqual(s.seq, 1234, json)
            XCTAssertEqual(s.sentUs, 42, json)
            XCTAssertEqual(text(bytes, s.sender), "bob", json)
            XCTAssertEqual(text(bytes, s.chatID), "c9", json)
            // Every prefix scans without crashing and never invents a value.
            for cut in 0..<bytes.count {
                let partial = DeliveryScanner.scan(Array(bytes[0..<cut]))
                XCTAssertTrue(partial.seq == -1 || partial.seq == 1234 || partial.seq == 1 || partial.seq == 12 || partial.seq == 123)
            }
        }
    }

    func testValuesThatLookLikeKeys() {
        let json = #"{"type":"message:new","payload":{"id":"seq","chat_id":"content","seq":5,"sender_id":"sender_id","content":"t=9 "seq":1"}}"#
        let bytes = Array(json.utf8)
        let s = DeliveryScanner.scan(bytes)
        XCTAssertEqual(s.seq, 5)
        XCTAssertEqual(s.sentUs, 9)
        XCTAssertEqual(text(bytes, s.sender), "sender_id")
        XCTAssertEqual(text(bytes, s.chatID), "content")
    }

    func testNestedFieldsOfOtherResponsesAreNotReported() {
        let json = #"{"type":"create_group","request_id":"g","status":"ok","chat":{"id":"g1","last_message":{"seq":3,"content":"t=1 x"}}}"#
        let s = DeliveryScanner.scan(Array(json.utf8))
        XCTAssertEqual(s.kind, .otherResponse)
        XCTAssertTrue(s.ok)
        XCTAssertEqual(s.seq, -1)
        XCTAssertEqual(s.sentUs, -1)
    }
}
