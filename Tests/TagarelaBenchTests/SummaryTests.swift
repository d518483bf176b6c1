// SummaryTests: the comparison table built from result lines, and the report's JSON line.
import XCTest
@testable import TagarelaBench
import TagarelaJSON

final class SummaryTests: XCTestCase {
    func testTableHasOneRowPerResult() throws {
        let lines = [
            #"{"workers":1,"fsync":"never","scenario":"chat","deliveries_per_second":100000.0,"delivery_latency":{"p99_ms":3.5},"processes":{"gateway":{"cpu_percent":80.5},"worker-0":{"cpu_percent":99.0}}}"#,
            #"{"workers":2,"fsync":"never","scenario":"chat","deliveries_per_second":150000.0,"delivery_latency":{"p99_ms":4.25}}"#,
        ]
        let table = Summary.table(try lines.map { try JSON.parse($0) })
        let rows = table.split(separator: "\n")
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(rows[1].contains("100000 deliv/s"))
        XCTAssertTrue(rows[1].contains("3.50 ms"))
        XCTAssertTrue(rows[1].contains("gw 80.50 w0 99"))
        XCTAssertTrue(rows[2].hasPrefix("chat      2"))
    }

    func testAlignedPadsColumnsAndEndsLinesWithoutSpaces() {
        let text = ResultLines.aligned([["load", "server", "notes"], ["5/s", "current", ""], ["closed", "nio", "x"]])
        XCTAssertEqual(text, "load    server   notes\n5/s     current\nclosed  nio      x\n")
    }

    func testReportLatencyFieldsAreMilliseconds() throws {
        var h = LatencyHistogram()
        for v in 1...1000 { h.record(Int64(v) * 1000) }   // 1 ms ... 1 s
        var r = BenchReport(scenario: "chat")
        r.addLatency("delivery_latency", h, label: "delivery latency")
        r.addErrors(["rate_limited": 3])
        let json = try JSON.parse(JSON.object(JSONObject(r.fields)).encoded())
        XCTAssertEqual(json["scenario"]?.string, "chat")
        let p99 = try XCTUnwrap(json["delivery_latency"]?["p99_ms"]?.double)
        XCTAssertGreaterThanOrEqual(p99, 990)
        XCTAssertLessThanOrEqual(p99, 990 * (1 + 1.0 / 128) + 0.001)
        XCTAssertEqual(json["delivery_latency"]?["count"]?.int, 1000)
        XCTAssertEqual(json["errors"]?["rate_limited"]?.int, 3)
        XCTAssertEqual(r.rows.count, 2)
    }
}
