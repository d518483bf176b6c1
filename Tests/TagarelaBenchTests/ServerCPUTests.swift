// ServerCPUTests: server CPU per delivery sums every server process (never the bench) over the window, and reaches the report, the JSON and the summary.
import XCTest
@testable import TagarelaBench
import TagarelaJSON

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

    func testPidOptionNamesAServerProcess() throws {
        let o = try BenchOptions.parse(["chat", "--port", "5200", "--pid", "nio=4242", "--pid", "other-helper=7"])
        XCTAssertEqual(o.extraPids, [WatchedProcess(name: "nio", pid: 4242), WatchedProcess(name: "other-helper", pid: 7)])
        for bad in ["nio", "=5", "nio=x", "bench=5", "other=5", "nio=0"] {
            XCTAssertThrowsError(try BenchOptions.parse(["chat", "--pid", bad]), bad)
        }
    }
}
