// SystemdWatchdogTests: the worker reads systemd's watchdog settings and notifies WATCHDOG=1 from its loop, to a path or an abstract socket.
import Foundation
import Glibc
import TagarelaSystem
@testable import TagarelaWorker
import TestSupport
import XCTest

final class SystemdWatchdogTests: XCTestCase {
    func testSettingsComeFromTheEnvironmentSystemdPasses() {
        let env = ["NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "10000000"]
        XCTAssertEqual(SystemdWatchdog.from(environment: env, pid: 42),
                       SystemdWatchdog(socketPath: "/run/systemd/notify", intervalMs: 5_000), "half of 10 s")
        XCTAssertEqual(SystemdWatchdog.from(environment: env.merging(["WATCHDOG_PID": "42"]) { $1 }, pid: 42)?.intervalMs, 5_000)
        XCTAssertNil(SystemdWatchdog.from(environment: env.merging(["WATCHDOG_PID": "7"]) { $1 }, pid: 42),
                     "meant for another process")
        XCTAssertNil(SystemdWatchdog.from(environment: ["NOTIFY_SOCKET": "/run/systemd/notify"], pid: 42), "no WatchdogSec=")
        XCTAssertNil(SystemdWatchdog.from(environment: ["WATCHDOG_USEC": "1000"], pid: 42), "nowhere to notify")
        XCTAssertNil(SystemdWatchdog.from(environment: env.merging(["WATCHDOG_USEC": "0"]) { $1 }, pid: 42))
    }

    /// A datagram socket bound at `address` (a path, or `@name` for an abstract one).
    private func listen(_ address: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var name = Array(address.utf8)
        if name[0] == UInt8(ascii: "@") { name[0] = 0 }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + name.count + (name[0] == 0 ? 0 : 1))
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        if bound != 0 { throw SystemError(op: "bind(\(address))") }
        return fd
    }

    private func receive(_ fd: Int32, timeoutMs: Int32 = 5000) -> String? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeoutMs) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    func testTheWorkerLoopNotifiesEveryIntervalToAnAbstractSocket() throws {
        let abstract = "@tagarela-watchdog-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = try listen(abstract)
        defer { close(fd) }
        try withWorker({ $0.watchdog = SystemdWatchdog(socketPath: abstract, intervalMs: 50) }) { _ in
            for _ in 0..<3 { XCTAssertEqual(receive(fd), "WATCHDOG=1") }
        }
    }

    func testANotificationToAPathSocketArrives() throws {
        let dir = TempDirectory(prefix: "tagarela-watchdog")
        defer { dir.remove() }
        let fd = try listen(dir.file("notify"))
        defer { close(fd) }
        XCTAssertNil(SystemdWatchdog(socketPath: dir.file("notify"), intervalMs: 1).notify())
        XCTAssertEqual(receive(fd), "WATCHDOG=1")
        XCTAssertNotNil(SystemdWatchdog(socketPath: dir.file("absent"), intervalMs: 1).notify(), "a typed error, not a crash")
    }
}
