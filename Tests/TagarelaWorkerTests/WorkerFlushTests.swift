// WorkerFlushTests: the worker's link writes after a group commit follow its flush policy: an idle worker answers at once even with a long hold bound.
import Foundation
import TagarelaLink
import TagarelaSystem
import TagarelaEventLoop
@testable import TagarelaWorker
import TestSupport
import XCTest

final class WorkerFlushTests: XCTestCase {
    func testAnIdleWorkerWritesItsAnswerInTheTurnOfTheCommit() throws {
        ProcessSetup.ignoreSIGPIPE()
        // A minute's bound: only the idle rule can let the answer out within the read's seconds.
        try withWorker({ c in
            c.flushDelayMs = 60_000
        }, prepare: { server in
            XCTAssertEqual(server.loop.flushDelayMs, 60_000)
            XCTAssertEqual(server.loop.flushPolicy, .whenIdle)
        }) { path in
            let socket = try LoopbackClient(unixPath: path)
            defer { socket.close() }
            var frame: [UInt8] = []
            LinkCodec.encode(.request(LinkRequest(requestID: 1, connectionID: 0, flags: LinkRequest.internalFlag,
                                                  json: Array(#"{"type":"users_exist","user_ids":["nobody"]}"#.utf8))),
                             into: &frame)
            try socket.send(frame)
            XCTAssertFalse(try socket.read(exactly: 1, timeoutMs: 5_000).isEmpty, "answered without waiting for the bound")
        }
    }
}
