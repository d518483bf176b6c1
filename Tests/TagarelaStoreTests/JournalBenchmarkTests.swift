// JournalBenchmarkTests: the benchmark runs for each policy and cleans up after itself.
import XCTest
@testable import TagarelaStore
import TestSupport

final class JournalBenchmarkTests: XCTestCase {
    func testRunsAndCleansUp() throws {
        let temp = TempDirectory(prefix: "tagarela-bench")
        defer { temp.remove() }
        for (policy, perCommit) in [(FsyncPolicy.always, 50), (.always, 1), (.never, 50), (.interval, 10)] {
            let result = try JournalBenchmark.run(directory: temp.path, records: 100, recordBytes: 200,
                                                  recordsPerCommit: perCommit, policy: policy)
            XCTAssertGreaterThan(result.recordsPerSecond, 0)
            XCTAssertEqual(result.commitsPerSecond * Double(perCommit), result.recordsPerSecond,
                           accuracy: result.recordsPerSecond * 0.01)
        }
        XCTAssertEqual(directoryNames(temp.path), [])
    }
}
