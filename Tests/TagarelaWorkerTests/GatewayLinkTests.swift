// GatewayLinkTests: the worker's end of a link is closed once a gateway that reads nothing leaves more than WorkerConfig.linkQueueCloseBytes of replies unsent.
import Foundation
import TagarelaLink
import TagarelaSystem
@testable import TagarelaWorker
import TestSupport
import XCTest

final class GatewayLinkTests: XCTestCase {
    func testALinkWhoseRepliesPassTheCloseBoundIsClosed() throws {
        // Our send may meet the closed link: an error, not a signal.
        ProcessSetup.ignoreSIGPIPE()
        try withWorker({ c in
            c.maxLinkQueuedBytes = 32 << 10
            c.linkQueueCloseBytes = 64 << 10
        }) { path in
            let socket = try LoopbackClient(unixPath: path)
            defer { socket.close() }
            // users_exist for 1000 unknown users: a 9 KB request, a 9 KB answer listing them all.
            let ids = (0..<1000).map { String(format: "\"u%04d\"", $0) }.joined(separator: ",")
            let json = Array(#"{"type":"users_exist","user_ids":[\#(ids)]}"#.utf8)
            var batch: [UInt8] = []
            for id in 1...40 {
                LinkCodec.encode(.request(LinkRequest(requestID: UInt64(id), connectionID: 0, flags: LinkRequest.internalFlag,
                                                      json: json)), into: &batch)
            }
            // Sent, never read until the worker has had its chance to give up on this gateway:
            // 40 answers are 360 KB, past the close bound of 64 KiB whatever the kernel buffers.
            try? socket.send(batch, timeoutMs: 3_000)
            Thread.sleep(forTimeInterval: 0.3)
            XCTAssertNoThrow(try socket.readUntilClosed(timeoutMs: 3_000),
                             "the worker closed the link (a kept link would be drained and stay open)")
        }
    }
}
