// ServerMonitor: samples the server processes and the bench itself, and turns samples into CPU shares and RSS deltas.
import TagarelaSystem

/// Samples of every watched process at one instant.
struct MonitorSample {
    /// Monotonic µs of the reading.
    var atUs: Int64
    /// Readings by process name (a process that is gone is missing).
    var byName: [String: ProcessSample]
    /// The whole machine's busy CPU time (µs summed over cores), if /proc/stat was readable.
    var machineBusyUs: Int64?
}

/// Watches the gateway, the workers (from the supervisor's pid files) and the bench.
final class ServerMonitor {
    /// The processes in report order: gateway, worker-0..., bench.
    let processes: [WatchedProcess]

    /// Watches the processes named in `runDir` (none when nil), then `extra`, and the bench itself.
    init(runDir: String?, extra: [WatchedProcess] = []) {
        var list = runDir.map { ProcessSampler.processes(inRunDir: $0) } ?? []
        list += extra
        list.append(ProcessSampler.current)
        processes = list
    }

    /// The server processes only (the bench excluded).
    var serverProcesses: [WatchedProcess] { processes.filter { $0.name != "bench" } }

    /// Reads every process now.
    func sample() -> MonitorSample {
        var byName: [String: ProcessSample] = [:]
        for p in processes {
            if let s = ProcessSampler.sample(p.pid) { byName[p.name] = s }
        }
        return MonitorSample(atUs: Clock.monotonicNs() / 1000, byName: byName, machineBusyUs: ProcessSampler.machineCPU()?.busyUs)
    }

    /// CPU use of each process between two samples, in percent of one core, then `other`: the
    /// rest of the machine's busy time (other programs, kernel threads), which tells whether a
    /// figure was measured on a quiet machine.
    func cpuPercent(from a: MonitorSample, to b: MonitorSample) -> [(name: String, percent: Double)] {
        let wallUs = Double(max(1, b.atUs - a.atUs))
        var list: [(name: String, percent: Double)] = processes.compactMap { p in
            guard let x = a.byName[p.name], let y = b.byName[p.name] else { return nil }
            return (p.name, Double(y.cpuUs - x.cpuUs) / wallUs * 100)
        }
        if let x = a.machineBusyUs, let y = b.machineBusyUs {
            let ours = list.reduce(0) { $0 + $1.percent }
            list.append(("other", max(0, Double(y - x) / wallUs * 100 - ours)))
        }
        return list
    }

    /// CPU time (user + system, µs) the server processes (every watched process but the bench)
    /// used between two samples, all together; nil when none is watched or one has no reading
    /// (a process that restarted in the window would make the sum wrong, not just short).
    func serverCPUUs(from a: MonitorSample, to b: MonitorSample) -> Int64? {
        serverTotal(from: a, to: b) { $0.cpuUs }
    }

    /// Write system calls of every server process between two samples, all together (nil as for
    /// `serverCPUUs`, or when /proc/PID/io was not readable).
    func serverWriteCalls(from a: MonitorSample, to b: MonitorSample) -> Int64? {
        serverTotal(from: a, to: b) { $0.writeCalls }
    }

    /// How much `reading` grew between two samples, summed over the server processes; nil when
    /// none is watched or any of them lacks the reading in either sample.
    private func serverTotal(from a: MonitorSample, to b: MonitorSample, _ reading: (ProcessSample) -> Int64?) -> Int64? {
        let server = serverProcesses
        guard !server.isEmpty else { return nil }
        var total: Int64 = 0
        for p in server {
            guard let x = a.byName[p.name].flatMap(reading), let y = b.byName[p.name].flatMap(reading) else { return nil }
            total += y - x
        }
        return total
    }

    /// Server CPU per delivery in µs over a window in which `deliveries` were made (nil when
    /// unknown or nothing was delivered): the efficiency figure, next to the rate and latency.
    func serverCPUUsPerDelivery(from a: MonitorSample, to b: MonitorSample, deliveries: Int) -> Double? {
        guard deliveries > 0, let us = serverCPUUs(from: a, to: b) else { return nil }
        return Double(us) / Double(deliveries)
    }

    /// `gw 85% w0 40% bench 30%` for progress lines.
    func cpuSummary(from a: MonitorSample, to b: MonitorSample) -> String {
        cpuPercent(from: a, to: b).map { "\(ServerMonitor.shortName($0.name)) \(Int($0.percent.rounded()))%" }
            .joined(separator: " ")
    }

    static func shortName(_ name: String) -> String {
        if name == "gateway" { return "gw" }
        if name == "other" { return "other" }
        if name.hasPrefix("worker-") { return "w" + name.dropFirst(7) }
        return name
    }
}
