// ClientWindowTests: the ramp's window starts at most its limit of clients and resumes as they finish.
import XCTest
@testable import TagarelaBench

final class ClientWindowTests: XCTestCase {
    /// Owns the clients under test; none of them is ever connected.
    private final class Owner: BenchClientOwner {
        func clientReady(_ client: BenchClient, nowUs: Int64) {}
        func clientRead(_ client: BenchClient, wireBytes count: Int) {}
        func clientReceived(_ client: BenchClient, _ text: UnsafeRawBufferPointer, nowUs: Int64) {}
        func clientClosed(_ client: BenchClient, wasReady: Bool, reason: String) {}
    }

    private let owner = Owner()

    private func clients(_ n: Int) -> [BenchClient] {
        (0..<n).map { BenchClient(index: $0, username: "u\($0)", owner: owner, transport: .ws, port: 1, sourceAddress: 0) }
    }

    func testStartsAtMostTheLimitThenOneMorePerFinished() {
        var window = ClientWindow()
        window.restart(clients(5))
        var started: [Int] = []
        while let c = window.next(limit: 2) { started.append(c.index); window.inFlight += 1 }
        XCTAssertEqual(started, [0, 1])
        window.inFlight -= 1
        while let c = window.next(limit: 2) { started.append(c.index); window.inFlight += 1 }
        XCTAssertEqual(started, [0, 1, 2])
        window.inFlight = 0
        while let c = window.next(limit: 2) { started.append(c.index); window.inFlight += 1 }
        XCTAssertEqual(started, [0, 1, 2, 3, 4])
        XCTAssertNil(window.next(limit: 10), "the queue is used up")
        XCTAssertEqual(window.count, 5)
    }

    func testAClientThatFailedToStartLeavesItsPlaceFree() {
        var window = ClientWindow()
        window.restart(clients(3))
        var taken: [Int] = []
        while let c = window.next(limit: 1) { taken.append(c.index) }   // none counted in flight
        XCTAssertEqual(taken, [0, 1, 2])
    }

    func testRestartReplacesTheQueueAndAppendQueuesBehind() {
        let all = clients(4)
        var window = ClientWindow()
        window.restart(Array(all[0..<2]))
        XCTAssertEqual(window.next(limit: 5)?.index, 0)
        window.inFlight = 1
        window.restart([all[2]])
        window.append(all[3])
        XCTAssertEqual(window.inFlight, 1, "clients in flight stay counted")
        XCTAssertEqual(window.next(limit: 5)?.index, 2)
        XCTAssertEqual(window.next(limit: 5)?.index, 3)
        XCTAssertNil(window.next(limit: 5))
    }
}
