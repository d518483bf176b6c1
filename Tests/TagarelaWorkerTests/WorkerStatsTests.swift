// WorkerStatsTests: a real worker answers the gateway's stats request with its shard's sizes, its group-commit histograms and a start count that survives restarts.
import Foundation
import TagarelaLink
import TagarelaSystem
@testable import TagarelaWorker
import TestSupport
import XCTest

final class WorkerStatsTests: XCTestCase {
    /// Runs a worker on `dir` (fsync always), sends `frames`, and returns every frame it answers
    /// until a stats frame arrives.
    /// `configure` changes the config first; `afterwards` runs on the worker's loop once the last
    /// answer came (before the worker stops).
    private func exchange(dir: String, configure: (inout WorkerConfig) -> Void = { _ in }, _ frames: [LinkFrame],
                          afterwards: @escaping (WorkerServer) -> Void = { _ in }) throws -> [LinkFrame] {
        var config = WorkerConfig(shard: 0, workers: 1, dataDirectory: dir, socketPath: dir + "/w.sock")
        config.fsync = .always
        config.pbkdf2Iterations = 1_000
        configure(&config)
        return try runningWorker(config) { server in
            let socket = try LoopbackClient(unixPath: config.socketPath)
            defer { socket.close() }
            var decoder = LinkDecoder(maxFrameBytes: 1 << 20)
            var got: [LinkFrame] = []
            for frame in frames {
                try socket.send(LinkCodec.encoded(frame))
                // One answer per frame sent, in order (requests are answered before the next is sent).
                let before = got.count
                while got.count == before {
                    let head = try socket.read(exactly: 4)
                    let length = Int(head[0]) << 24 | Int(head[1]) << 16 | Int(head[2]) << 8 | Int(head[3])
                    try decoder.feed(head + (try socket.read(exactly: length))) { got.append($0) }
                }
            }
            let probed = DispatchSemaphore(value: 0)
            server.loop.execute {
                afterwards(server)
                probed.signal()
            }
            XCTAssertEqual(probed.wait(timeout: .now() + 10), .success, "the worker loop did not run the probe")
            return got
        }
    }

    private func register(_ id: UInt64, _ name: String) -> LinkFrame {
        .request(LinkRequest(requestID: id, connectionID: id,
                             json: Array(#"{"type":"register","username":"\#(name)","password":"correct horse"}"#.utf8)))
    }

    func testStatsCarryTheShardsSizesCommitsAndStarts() throws {
        let dir = TempDirectory(prefix: "tagarela-stats")
        defer { dir.remove() }
        let first = try exchange(dir: dir.path, [register(1, "ana"), register(2, "bia"), .statsRequest(77)])
        guard case .stats(let stats)? = first.last else { return XCTFail("no stats frame: \(first)") }
        typealias N = WorkerStats.Name
        XCTAssertEqual(stats.nonce, 77)
        XCTAssertEqual(stats.value(N.users), 2)
        XCTAssertEqual(stats.value(N.chats), 0)
        XCTAssertEqual(stats.value(N.starts), 1)
        let commits = try XCTUnwrap(stats.value(N.commits))
        XCTAssertGreaterThanOrEqual(commits, 2, "each register committed in its own turn")
        XCTAssertEqual(stats.histogram(N.commitSeconds)?.count, UInt64(commits))
        XCTAssertEqual(stats.histogram(N.commitRecords)?.count, UInt64(commits))
        XCTAssertGreaterThanOrEqual(stats.histogram(N.commitRecords)?.sum ?? 0, 2, "at least one record per user")
        XCTAssertEqual(stats.histogram(N.fdatasyncSeconds)?.count, UInt64(commits), "fsync always: one per commit")
        XCTAssertGreaterThan(stats.value(N.journalBytes) ?? 0, 0)
        XCTAssertEqual(stats.histogram(N.compactionSeconds)?.count, 0)

        // A second start on the same folder counts 2, and the users are still there.
        let second = try exchange(dir: dir.path, [.statsRequest(78)])
        guard case .stats(let again)? = second.last else { return XCTFail("no stats frame: \(second)") }
        XCTAssertEqual(again.value(N.starts), 2)
        XCTAssertEqual(again.value(N.users), 2)
        XCTAssertEqual(again.value(N.commits), 0, "commits count since this start")
    }

    /// Every fdatasync of the journal is observed once, the one a compaction makes of the journal
    /// it switches away from (fsync interval, records not yet synced) included.
    func testEveryFdatasyncIsObservedOnce() throws {
        let dir = TempDirectory(prefix: "tagarela-stats-sync")
        defer { dir.remove() }
        var syncCalls = -1
        var observed: UInt64 = 0
        // Both read in one turn of the worker's loop: the 1 s sync timer cannot fall between them.
        _ = try exchange(dir: dir.path, configure: {
            $0.fsync = .interval
            $0.compactJournalBytes = 1  // every commit starts a compaction, which syncs the old journal
        }, [register(1, "ana"), register(2, "bia")], afterwards: { server in
            syncCalls = server.store.syncCalls
            observed = server.stats(nonce: 0).histogram(WorkerStats.Name.fdatasyncSeconds)?.count ?? 0
        })
        XCTAssertGreaterThanOrEqual(syncCalls, 1, "the compaction synced the journal")
        XCTAssertEqual(observed, UInt64(syncCalls))
    }
}
