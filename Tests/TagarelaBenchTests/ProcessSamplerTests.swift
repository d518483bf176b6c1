// ProcessSamplerTests: parsing /proc/PID/stat and /proc/PID/status, and reading our own process.
import XCTest
@testable import TagarelaBench

final class ProcessSamplerTests: XCTestCase {
    func testStatWithSpacesInTheName() {
        let stat = "1234 (tag arela) S 1 1234 1234 0 -1 4194560 500 0 0 0 731 269 0 0 20 0 3 0 100 1000 200"
        XCTAssertEqual(ProcessSampler.parseStatCPUTicks(stat), 1000)
        XCTAssertNil(ProcessSampler.parseStatCPUTicks("garbage"))
    }

    func testStatusField() {
        let status = "Name:\ttagarela\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n"
        XCTAssertEqual(ProcessSampler.parseStatusKiB(status, field: "VmRSS:"), 12345)
        XCTAssertNil(ProcessSampler.parseStatusKiB(status, field: "VmSwap:"))
    }

    func testOwnProcessIsReadable() throws {
        let s = try XCTUnwrap(ProcessSampler.sample(getpid()))
        XCTAssertGreaterThan(s.rssBytes, 0)
        XCTAssertGreaterThanOrEqual(s.cpuUs, 0)
        XCTAssertNil(ProcessSampler.sample(-1))
    }

    func testPidFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-pids-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "11\n".write(toFile: dir + "/gateway.pid", atomically: true, encoding: .utf8)
        try "12\n".write(toFile: dir + "/worker-0.pid", atomically: true, encoding: .utf8)
        try "13".write(toFile: dir + "/worker-1.pid", atomically: true, encoding: .utf8)
        let found = ProcessSampler.processes(inRunDir: dir)
        XCTAssertEqual(found, [WatchedProcess(name: "gateway", pid: 11), WatchedProcess(name: "worker-0", pid: 12),
                               WatchedProcess(name: "worker-1", pid: 13)])
    }
}

final class MachineCPUTests: XCTestCase {
    func testProcStatFirstLine() throws {
        let stat = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n"
        let hz = Int64(sysconf(Int32(_SC_CLK_TCK)))
        let v = try XCTUnwrap(ProcessSampler.parseMachineCPU(stat))
        XCTAssertEqual(v.totalUs, 980 * (1_000_000 / hz))
        XCTAssertEqual(v.busyUs, 160 * (1_000_000 / hz))
        XCTAssertNil(ProcessSampler.parseMachineCPU("intr 1 2 3"))
        XCTAssertNotNil(ProcessSampler.machineCPU())
    }
}
