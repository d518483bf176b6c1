// LogWriterTests: the exact text and JSON lines, escaping of every character JSON forbids raw, and the timestamp's shape.
import Foundation
@testable import TagarelaSystem
import XCTest

final class LogWriterTests: XCTestCase {
    /// Lines written, captured.
    final class Sink: @unchecked Sendable {
        var lines: [String] = []
    }

    func testTextLinesAreProcessColonMessage() {
        let sink = Sink()
        let w = LogWriter(process: "worker 1", format: .text, sink: { sink.lines.append($0) })
        w.line("loaded 3 records")
        w.event("compaction", message: "compacted in 5 ms", [("duration_ms", .int(5))])
        XCTAssertEqual(sink.lines, ["worker 1: loaded 3 records", "worker 1: compacted in 5 ms"])
    }

    func testJSONLinesParseWithTheirFieldsAndLevels() throws {
        let sink = Sink()
        let w = LogWriter(process: "gateway", format: .json, sink: { sink.lines.append($0) })
        w.event("connection_closed", message: "unused in json", [("reason", .string("peer \"quoted\"\n\u{1}")), ("duration_ms", .int(-7))])
        w.line("journal write failed: disk full")
        w.line("warning: cut a torn tail")
        w.line("listening")
        let objects = try sink.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(objects[0]["event"] as? String, "connection_closed")
        XCTAssertEqual(objects[0]["process"] as? String, "gateway")
        XCTAssertEqual(objects[0]["reason"] as? String, "peer \"quoted\"\n\u{1}")
        XCTAssertEqual(objects[0]["duration_ms"] as? Int, -7)
        XCTAssertEqual(objects.map { $0["level"] as? String }, ["info", "error", "warn", "info"])
        XCTAssertEqual(objects[3]["event"] as? String, "log")
        XCTAssertEqual(objects[3]["message"] as? String, "listening")
        XCTAssertTrue(sink.lines[0].contains("\\u0001"), sink.lines[0])
    }

    func testTimestampsAreUTCWithMilliseconds() {
        XCTAssertEqual(LogWriter.utcTimestamp(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(LogWriter.utcTimestamp(1_795_728_122_092), "2026-11-26T21:22:02.092Z")
    }
}
