// LogFormatCommandTests: --log-format and --slow-request-ms on the command line and in the environment, and their refusals.
@testable import tagarela
import TagarelaGateway
import TagarelaWorker
import XCTest

final class LogFormatCommandTests: XCTestCase {
    private func parse(_ line: String, environment: [String: String] = [:]) throws -> Command {
        try Command.parse(line.split(separator: " ").map(String.init), environment: environment)
    }

    func testGatewayTakesTheFormatAndThreshold() throws {
        guard case .gateway(let config) = try parse("gateway --log-format json --slow-request-ms 250") else { return XCTFail() }
        XCTAssertEqual(config.logWriter.format, .json)
        XCTAssertEqual(config.logWriter.process, "gateway")
        XCTAssertEqual(config.slowRequestMs, 250)
        guard case .gateway(let plain) = try parse("gateway") else { return XCTFail() }
        XCTAssertEqual(plain.logWriter.format, .text, "text unless asked")
        XCTAssertEqual(plain.slowRequestMs, 1_000)
    }

    func testWorkerTakesTheFormatFromTheEnvironment() throws {
        guard case .worker(let config) = try parse("worker --shard 0 --workers 1 --data d --socket s",
                                                   environment: ["TAGARELA_LOG_FORMAT": "json"]) else { return XCTFail() }
        XCTAssertEqual(config.logFormat, .json)
    }

    func testOtherFormatsAndThresholdsAreRefused() {
        for line in ["gateway --log-format xml", "worker --shard 0 --workers 1 --data d --socket s --log-format JSON",
                     "gateway --slow-request-ms -1", "reshard --data d --to 2 --log-format json"] {
            XCTAssertThrowsError(try parse(line), line) { XCTAssertTrue($0 is UsageError, "\(line): \($0)") }
        }
    }
}
