// ServerCPUTests: server CPU per delivery sums every server process (never the bench) over the window, and reaches the report, the JSON and the summary.
import XCTest
@testable import TagarelaBench
import TagarelaJSON
import Glibc

final class ServerCPUTests: XCTestCase {
    private func sample(atUs: Int64, _ cpu: [String: Int64]) -> MonitorSample {
        MonitorSample(atUs: atUs, byName: cpu.mapValues { ProcessSample(rssBytes: 0, cpuUs: $0) }, machineBusyUs: nil)
    }

    private let monitor = ServerMonitor(runDir: nil, extra: [
        WatchedProcess(name: "gateway", pid: 1), WatchedProcess(name: "worker-0", pid: 2), WatchedProcess(name: "worker-1", pid: 3),
    ])

    func testEveryServerProcessCountsAndTheBenchDoesNot() {
        let a = sample(atUs: 0, ["gateway": 1_000, "worker-0": 500, "worker-1": 0, "bench": 0])
        let b = sample(atUs: 1_000_000, ["gateway": 601_000, "worker-0": 300_500, "worker-1": 100_000, "bench": 900_000])
        XCTAssertEqual(monitor.serverCPUUs(from: a, to: b), 1_000_000)
        XCTAssertEqual(monitor.serverCPUUsPerDelivery(from: a, to: b, deliveries: 250_000), 4.0)
        XCTAssertNil(monitor.serverCPUUsPerDelivery(from: a, to: b, deliveries: 0))
        // A worker without a reading at one end (gone, restarted): no figure rather than a short one.
        let c = sample(atUs: 1_000_000, ["gateway": 601_000, "worker-0": 300_500, "bench": 900_000])
        XCTAssertNil(monitor.serverCPUUs(from: a, to: c))
        XCTAssertNil(ServerMonitor(runDir: nil).serverCPUUs(from: a, to: b), "no server watched")
        XCTAssertNil(monitor.serverWriteCalls(from: a, to: b), "no /proc/PID/io readings")
        let io = { (s: MonitorSample, calls: Int64) -> MonitorSample in
            var s = s
            for key in s.byName.keys { s.byName[key]?.writeCalls = calls }
            return s
        }
        XCTAssertEqual(monitor.serverWriteCalls(from: io(a, 10), to: io(b, 110)), 300, "three server processes, the bench left out")
    }

    func testTheReportCarriesItAndTheSummaryShowsIt() throws {
        let a = sample(atUs: 0, ["gateway": 0, "worker-0": 0, "worker-1": 0])
        let b = sample(atUs: 2_000_000, ["gateway": 1_000_000, "worker-0": 500_000, "worker-1": 500_000])
        var counters = RunCounters()
        counters.deliveries = 400_000
        let w = ChatWindow(rate: 20, counters: counters, seconds: 2, drained: true, from: a, to: b,
                           expectedFromSent: 400_000, expectedFromAcked: 400_000)
        var r = BenchReport(scenario: "chat")
        r.addServerCPU(w, monitor: monitor)
        let json = try JSON.parse(JSON.object(JSONObject(r.fields)).encoded())
        XCTAssertEqual(json["server_cpu_us_per_delivery"]?.double, 5.0)
        XCTAssertEqual(json["server_cpu_percent"]?.double, 100.0)
        XCTAssertTrue(r.rows.contains { $0.label == "server cpu per delivery" && $0.text.hasPrefix("5.00 µs") })
        let table = Summary.table([try JSON.parse(#"{"scenario":"chat","deliveries_per_second":200000.0,"server_cpu_us_per_delivery":5.0}"#)])
        XCTAssertTrue(table.contains("cpu/delivery"))
        XCTAssertTrue(table.contains("5.00 µs"))
    }

    func testOwnWriteCallsAreRead() throws {
        let before = try XCTUnwrap(ProcessSampler.sample(getpid())?.writeCalls)
        let fd = open("/dev/null", O_WRONLY)
        defer { close(fd) }
        for _ in 0..<5 { _ = write(fd, "x", 1) }
        let after = try XCTUnwrap(ProcessSampler.sample(getpid())?.writeCalls)
        XCTAssertGreaterThanOrEqual(after - before, 5)
    }

    func testPidOptionNamesAServerProcess() throws {
        let o = try BenchOptions.parse(["chat", "--port", "5200", "--pid", "nio=4242", "--pid", "other-helper=7"])
        XCTAssertEqual(o.extraPids, [WatchedProcess(name: "nio", pid: 4242), WatchedProcess(name: "other-helper", pid: 7)])
        for bad in ["nio", "=5", "nio=x", "bench=5", "other=5", "nio=0"] {
            XCTAssertThrowsError(try BenchOptions.parse(["chat", "--pid", bad]), bad)
        }
    }
}

/// Benchmarks/compare's table: loads in order, one row per run, CPU relative to the load's first server.
final class CompareTableTests: XCTestCase {
    func testOneRowPerRunGroupedByLoad() throws {
        let lines = [
            #"{"server":"previous","load":"5/s","scenario":"chat","deliveries_per_second":45000.0,"delivery_latency":{"p50_ms":8.5,"p99_ms":12.0},"server_cpu_us_per_delivery":4.0}"#,
            #"{"server":"current","load":"5/s","scenario":"chat","deliveries_per_second":45000.0,"delivery_latency":{"p50_ms":0.4,"p99_ms":2.0},"server_cpu_us_per_delivery":5.0,"deliveries":90,"deliveries_expected_from_acked":100}"#,
            #"{"server":"previous","load":"closed w4","scenario":"chat","deliveries_per_second":500000.0,"delivery_latency":{"p50_ms":20.0,"p99_ms":50.0},"server_cpu_us_per_delivery":2.0}"#,
            #"{"server":"nio","load":"5/s","scenario":"chat","failure":"the peer did not start"}"#,
        ]
        let rows = CompareTable.table(try lines.map { try JSON.parse($0) }).split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.count, 5)
        XCTAssertTrue(rows[1].hasPrefix("5/s") && rows[1].contains("previous") && rows[1].contains("8.50 ms") && rows[1].contains("+0%"))
        XCTAssertTrue(rows[2].contains("current") && rows[2].contains("0.40 ms") && rows[2].contains("5.00 µs") && rows[2].contains("+25%"))
        XCTAssertTrue(rows[2].contains("delivered 90.0%"))
        XCTAssertTrue(rows[3].contains("nio") && rows[3].contains("FAILED: the peer did not start"), "runs of a load stay together")
        XCTAssertTrue(rows[4].hasPrefix("closed w4"))
    }
}
