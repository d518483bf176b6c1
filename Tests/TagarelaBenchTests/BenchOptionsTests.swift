// BenchOptionsTests: the bench command line, its defaults and its refusals.
import XCTest
@testable import TagarelaBench

final class BenchOptionsTests: XCTestCase {
    func testChatFlags() throws {
        let o = try BenchOptions.parse(["chat", "--port", "5123", "--users", "100", "--group", "10", "--rate", "20",
                                        "--duration", "3", "--transport", "raw", "--loops", "2", "--run-id", "x1"])
        XCTAssertEqual(o.scenario, "chat")
        XCTAssertEqual(o.port, 5123)
        XCTAssertEqual(o.users, 100)
        XCTAssertEqual(o.groupCount, 10)
        XCTAssertEqual(o.rate, 20)
        XCTAssertEqual(o.transport, .raw)
        XCTAssertEqual(o.username(7), "bx1_7")
    }

    func testCBORTransport() throws {
        XCTAssertEqual(try BenchOptions.parse(["chat", "--transport", "cbor"]).transport, .cbor)
        XCTAssertTrue(BenchTransport.cbor.isWebSocket)
        XCTAssertFalse(BenchTransport.raw.isWebSocket)
    }

    func testCompressionFlag() throws {
        XCTAssertFalse(try BenchOptions.parse(["chat"]).compression)
        XCTAssertTrue(try BenchOptions.parse(["chat", "--compression", "on"]).compression)
        XCTAssertFalse(try BenchOptions.parse(["chat", "--compression", "off"]).compression)
        XCTAssertThrowsError(try BenchOptions.parse(["chat", "--compression", "yes"]))
    }

    func testShortLastGroupIsDropped() throws {
        let o = try BenchOptions.parse(["chat", "--users", "25", "--group", "10"])
        XCTAssertEqual(o.groupCount, 2)
    }

    func testRefusals() {
        let bad: [[String]] = [
            [], ["--port", "1"], ["dance"], ["chat", "--port"], ["chat", "--port", "0"], ["chat", "--users", "x"],
            ["chat", "--users", "5", "--group", "10"], ["connect", "--sweep"], ["chat", "--sweep", "--window", "4"],
            ["chat", "--run-id", "UPPER"], ["chat", "--transport", "udp"], ["chat", "--bogus"], ["chat", "--password", "short"],
        ]
        for args in bad {
            XCTAssertThrowsError(try BenchOptions.parse(args), "\(args)")
        }
    }
}

final class BenchOptionsDefaultsTests: XCTestCase {
    func testAutomaticThreads() throws {
        XCTAssertEqual(try BenchOptions.parse(["connect"]).loops, 2)
        XCTAssertEqual(try BenchOptions.parse(["chat"]).loops, 1)
        XCTAssertEqual(try BenchOptions.parse(["storm", "--loops", "3"]).loops, 3)
    }

    func testSweepFlags() throws {
        let o = try BenchOptions.parse(["chat", "--sweep", "--rate", "10", "--p99-bound-ms", "20", "--sweep-factor", "1.5"])
        XCTAssertTrue(o.sweep)
        XCTAssertEqual(o.p99BoundMs, 20)
        XCTAssertEqual(o.sweepFactor, 1.5)
    }
}
