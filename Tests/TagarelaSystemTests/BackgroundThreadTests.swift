// BackgroundThreadTests: a detached thread runs its body, releases what it captured, and a Latch hands its end over.
import Glibc
import TagarelaSystem
import XCTest

final class BackgroundThreadTests: XCTestCase {
    private final class Payload: @unchecked Sendable {
        // Written by the thread before `done` opens; read here only after `done.wait()`.
        var ranOn: pthread_t = 0
    }

    func testBodyRunsOnAnotherThreadAndItsCapturesAreReleased() throws {
        let done = Latch()
        var payload: Payload? = Payload()
        weak let watched = payload
        try BackgroundThread.start(name: "tagarela.test.thread.name.longer.than.15") { [payload = payload!] in
            payload.ranOn = pthread_self()
            done.open()
        }
        done.wait()
        XCTAssertNotEqual(watched?.ranOn, pthread_self())
        payload = nil
        // The thread's body (and the payload it holds) goes when the thread ends, with no join.
        let deadline = Clock.monotonicMs() + 5000
        while watched != nil && Clock.monotonicMs() < deadline { usleep(1000) }
        XCTAssertNil(watched, "the ended thread still holds its body")
    }

    func testLatchLetsEveryWaitPassOnceOpen() throws {
        let latch = Latch()
        try BackgroundThread.start(name: "latch") { latch.open() }
        latch.wait()
        latch.wait()  // a second wait returns at once
    }
}
