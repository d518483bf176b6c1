// PrimitivesTests: epoll, eventfd, clocks, process limits and the durable file calls.
import Foundation
import Glibc
import TagarelaSystem
import TestSupport
import XCTest

final class PrimitivesTests: XCTestCase {
    func testEventFDWakesEpollWithItsToken() throws {
        let epoll = try Epoll(capacity: 8)
        let event = try EventFD()
        try epoll.add(event.fd, events: .readable, token: 0xABCD_0000_0000_0042)
        XCTAssertEqual(try epoll.wait(timeoutMs: 0), 0)

        let thread = Thread { event.signal() }
        thread.start()
        XCTAssertEqual(try epoll.wait(timeoutMs: 5000), 1)
        let (token, ready) = epoll.event(at: 0)
        XCTAssertEqual(token, 0xABCD_0000_0000_0042)
        XCTAssertTrue(ready.contains(.readable))

        XCTAssertTrue(event.drain())
        XCTAssertFalse(event.drain(), "drained counter reads as empty")
        XCTAssertEqual(try epoll.wait(timeoutMs: 0), 0)

        try epoll.modify(event.fd, events: [.readable, .writable], token: 7)
        XCTAssertEqual(try epoll.wait(timeoutMs: 0), 1, "an eventfd is always writable")
        XCTAssertEqual(epoll.event(at: 0).token, 7)
        XCTAssertTrue(epoll.event(at: 0).events.contains(.writable))
        try epoll.remove(event.fd)
        XCTAssertEqual(try epoll.wait(timeoutMs: 0), 0)
        XCTAssertThrowsError(try epoll.remove(event.fd)) { error in
            XCTAssertEqual((error as? SystemError)?.errno, ENOENT)
        }
    }

    func testClocks() {
        let a = Clock.monotonicMs()
        usleep(5_000)
        let b = Clock.monotonicMs()
        XCTAssertGreaterThanOrEqual(b - a, 4)
        XCTAssertLessThan(b - a, 5_000)
        // 2020-01-01 .. 2100-01-01 in ms: a sanity check that the wall clock is epoch-based.
        XCTAssertGreaterThan(Clock.wallMs(), 1_577_836_800_000)
        XCTAssertLessThan(Clock.wallMs(), 4_102_444_800_000)
    }

    func testRaiseOpenFileLimitReachesHardLimit() throws {
        let soft = try ProcessSetup.raiseOpenFileLimit()
        var limits = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits), 0)
        XCTAssertEqual(soft, UInt64(limits.rlim_cur))
        XCTAssertEqual(limits.rlim_cur, limits.rlim_max)
    }

    func testDurableReplaceSequence() throws {
        let dir = loopbackTemporaryPath("dir")
        XCTAssertTrue(try FileTree.makeDirectory(dir))
        XCTAssertFalse(try FileTree.makeDirectory(dir))  // existing: fine
        defer {
            try? FileIO.unlink(dir + "/final")
            try? FileIO.unlink(dir + "/temp")
            rmdir(dir)
        }
        XCTAssertNil(try FileIO.readFile(dir + "/final"))

        let fd = try FileIO.open(dir + "/temp", [.writeOnly, .create, .truncate])
        try FileDescriptor.writeAll(fd, Array("snapshot v1 plus tail".utf8))
        try FileIO.fdatasync(fd)
        try FileIO.truncate(fd, length: 11)
        try FileIO.fsync(fd)
        FileDescriptor.close(fd)
        try FileIO.rename(from: dir + "/temp", to: dir + "/final")
        try FileIO.fsyncDirectory(dir)

        XCTAssertEqual(try FileIO.readFile(dir + "/final"), Array("snapshot v1".utf8))
        XCTAssertNil(try FileIO.readFile(dir + "/temp"))
        XCTAssertThrowsError(try FileIO.rename(from: dir + "/temp", to: dir + "/other")) { error in
            XCTAssertEqual((error as? SystemError)?.errno, ENOENT)
        }
        XCTAssertThrowsError(try FileIO.fsyncDirectory(dir + "/missing"))
        try FileIO.unlink(dir + "/missing")  // missing: fine
    }

    func testSystemErrorDescription() {
        let error = SystemError(op: "fsync", errno: EIO)
        XCTAssertEqual(error.op, "fsync")
        XCTAssertTrue(error.description.hasPrefix("fsync: "), error.description)
        XCTAssertTrue(error.description.hasSuffix("(errno \(EIO))"), error.description)
        XCTAssertTrue(SystemError(op: "read", errno: EAGAIN).isWouldBlock)
    }
}
