// StatsFileTests: the worker's stats file is private like every other file of an instance.
import Glibc
import TagarelaLink
@testable import TagarelaWorker
import TestSupport
import XCTest

final class StatsFileTests: XCTestCase {
    /// Issue 8 review: Foundation's atomic write created it 0666 under umask 000, readable and
    /// writable by any account when the socket folder is outside the 0700 data folder.
    func testTheStatsFileIs0600EvenUnderUmask000() throws {
        let dir = TempDirectory(prefix: "tagarela-stats")
        defer { dir.remove() }
        let old = umask(0)
        defer { umask(old) }
        let socket = dir.path + "/worker-0.sock"
        var lines: [String] = []
        WorkerServer.publishStats(socketPath: socket, [("journal_corrupt_records", 0)], log: { lines.append($0) })
        XCTAssertEqual(lines, [])
        var info = stat()
        XCTAssertEqual(stat(WorkerStatsFile.path(forSocket: socket), &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
    }
}
