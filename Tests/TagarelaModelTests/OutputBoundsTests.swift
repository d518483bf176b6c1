// OutputBoundsTests: the worst-case sizes are what the worst objects really encode to, read_by's cap, and the chat cursor.
import Foundation
import TagarelaJSON
import TagarelaModel
import XCTest

final class OutputBoundsTests: XCTestCase {
    let control = String(repeating: "\u{1}", count: FieldLimits.contentMax)

    /// Issue 8: 4000 control characters are stored and sent as 6-byte escapes.
    func testControlCharactersTakeSixBytesEach() {
        var out: [UInt8] = []
        JSONWriter.appendString(control, to: &out)
        XCTAssertEqual(out.count, 2 + 6 * FieldLimits.contentMax)
        XCTAssertEqual(OutputBounds.escapedBytesPerCharacterMax, 6)
    }

    /// A message of the largest realistic shape stays within the bound, and the bound is near it
    /// (the bound's slack is only the ids and integers counted at their worst).
    func testMessageBound() {
        let m = Message(chatID: "g:" + String(repeating: "f", count: 24), seq: 1_000_000, senderID: String(repeating: "u", count: 32),
                        content: control, timestamp: 1_795_728_122_092, clientMsgID: String(repeating: "\u{2}", count: 64),
                        attachment: Attachment(id: "1000000", name: String(repeating: "\u{1F600}", count: FieldLimits.attachmentNameMax),
                                               mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                                               size: 524_288, sha256: String(repeating: "e", count: 64)))
        let readers = (0..<1000).map { String(format: "reader-%025d", $0) }
        let bytes = m.encoded(readBy: readers, readCount: readers.count, readAt: 1_795_728_122_093)
        XCTAssertLessThanOrEqual(bytes.count, OutputBounds.messageBytesMax)
        XCTAssertGreaterThan(bytes.count, OutputBounds.messageBytesMax - 1600)
        XCTAssertTrue((27_500...28_500).contains(OutputBounds.messageBytesMax), "PROTOCOL.md 3.6 says about 27.9 KB: \(OutputBounds.messageBytesMax)")
        let json = try! JSON.parse(bytes)
        XCTAssertEqual(json["read_by"]?.array?.count, FieldLimits.readByIDsMax, "read_by is capped")
        XCTAssertEqual(json["read_by"]?[0]?.string, readers[0], "the first readers")
        XCTAssertEqual(json["read_count"], 1000)
    }

    func testChatAndPageBounds() {
        let members = (0..<FieldLimits.groupMembersMax).map { String(format: "member%026d", $0) }
        let chat = Chat(id: "g:" + String(repeating: "a", count: 24), kind: .group, name: String(repeating: "\u{3}", count: 100),
                        memberIDs: members, createdAt: 1_795_728_122_092, creatorID: members[0])
        let last = Message(chatID: chat.id, seq: 9, senderID: members[1], content: control, timestamp: 1, clientMsgID: nil)
            .encoded(readBy: members, readCount: members.count, readAt: 2)
        XCTAssertLessThanOrEqual(chat.encoded(lastMessage: last, unreadCount: 123_456).count, OutputBounds.chatBytesMax)
        XCTAssertTrue((63_500...64_500).contains(OutputBounds.chatBytesMax), "\(OutputBounds.chatBytesMax)")
        XCTAssertEqual(OutputBounds.responseBytesMax, OutputBounds.messagesPageBytesMax, "get_messages is the largest")
        XCTAssertTrue((5_500_000...5_700_000).contains(OutputBounds.responseBytesMax), "\(OutputBounds.responseBytesMax)")
        XCTAssertLessThan(OutputBounds.chatsPageBytesMax, 3_300_000)
        // A get_attachment answer (the base64 of 512 KiB and the metadata) is far below a page.
        XCTAssertTrue((699_052...702_000).contains(OutputBounds.attachmentResponseBytesMax), "\(OutputBounds.attachmentResponseBytesMax)")
        XCTAssertGreaterThan(OutputBounds.eventBytesMax, OutputBounds.chatBytesMax)
    }

    func testChatCursor() {
        let c = ChatCursor(activity: 1_795_728_122_092, chatID: "d:ana:bia")
        XCTAssertEqual(c.text, "1795728122092 d:ana:bia")
        XCTAssertEqual(ChatCursor(text: c.text), c)
        XCTAssertEqual(ChatCursor(text: "-5 g:1"), ChatCursor(activity: -5, chatID: "g:1"))
        for bad in ["", "12", "12 ", "x g:1", " g:1", "12 " + String(repeating: "a", count: 68)] {
            XCTAssertNil(ChatCursor(text: bad), bad)
        }
        let newer = ChatCursor(activity: 10, chatID: "z"), older = ChatCursor(activity: 9, chatID: "a")
        XCTAssertTrue(ChatCursor.precedes(newer, older))
        XCTAssertTrue(ChatCursor.precedes(ChatCursor(activity: 9, chatID: "a"), ChatCursor(activity: 9, chatID: "b")), "ties by id")
        XCTAssertTrue(older.isAfter(newer))
        XCTAssertFalse(newer.isAfter(newer), "the cursor's own chat is not on the next page")
    }

    func testLimitReachedCarriesItsLimit() {
        let e = RequestError.limitReached(.groupMembers, "full")
        let json = try! JSON.parse(Responses.error(type: "add_group_member", requestID: "a", e))
        XCTAssertEqual(json["code"], "limit_reached")
        XCTAssertEqual(json["limit"], "group_members")
        let relabeled = try! JSON.parse(Responses.relabeledError(json, type: "create_group", requestID: "b"))
        XCTAssertEqual(relabeled["limit"], "group_members")
    }
}
