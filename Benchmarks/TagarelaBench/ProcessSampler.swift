// ProcessSampler: reads the resident memory and CPU time of the server processes (and the bench) from /proc.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One reading of one process: resident set size and CPU time used so far.
public struct ProcessSample: Equatable {
    /// Resident set size in bytes (`VmRSS` of /proc/PID/status).
    public var rssBytes: Int64
    /// User plus system CPU time in microseconds (fields 14 and 15 of /proc/PID/stat).
    public var cpuUs: Int64
    /// Write-type system calls so far (`syscw` of /proc/PID/io: write, writev; not send/sendmsg), when
    /// readable: writes per delivery show what output coalescing saves, and unlike CPU time they
    /// do not move with whatever else the machine runs.
    public var writeCalls: Int64?

    /// Creates a sample.
    public init(rssBytes: Int64, cpuUs: Int64, writeCalls: Int64? = nil) {
        self.rssBytes = rssBytes
        self.cpuUs = cpuUs
        self.writeCalls = writeCalls
    }
}

/// A named server process to watch.
public struct WatchedProcess: Equatable {
    /// `gateway`, `worker-0`, ... or `bench` for the load generator itself.
    public var name: String
    /// Its process id.
    public var pid: Int32

    /// Creates a watched process.
    public init(name: String, pid: Int32) {
        self.name = name
        self.pid = pid
    }
}

/// Reads /proc for a set of processes.
public enum ProcessSampler {
    /// The processes named by the supervisor's pid files in `runDir` (`gateway.pid`,
    /// `worker-K.pid`), in the order gateway, worker-0, worker-1, ...; missing files are skipped.
    public static func processes(inRunDir runDir: String) -> [WatchedProcess] {
        var found: [WatchedProcess] = []
        if let pid = readPid(runDir + "/gateway.pid") { found.append(WatchedProcess(name: "gateway", pid: pid)) }
        var k = 0
        while k < 1024, let pid = readPid(runDir + "/worker-\(k).pid") {
            found.append(WatchedProcess(name: "worker-\(k)", pid: pid))
            k += 1
        }
        return found
    }

    /// The bench process itself.
    public static var current: WatchedProcess { WatchedProcess(name: "bench", pid: getpid()) }

    /// Reads one process, or nil when it is gone or /proc cannot be read.
    public static func sample(_ pid: Int32) -> ProcessSample? {
        guard let status = readText("/proc/\(pid)/status"), let stat = readText("/proc/\(pid)/stat") else { return nil }
        guard let rssKiB = parseStatusKiB(status, field: "VmRSS:"), let ticks = parseStatCPUTicks(stat) else { return nil }
        let hz = Int64(sysconf(Int32(_SC_CLK_TCK)))
        let writeCalls = readText("/proc/\(pid)/io").flatMap { parseStatusKiB($0, field: "syscw:") }
        return ProcessSample(rssBytes: rssKiB * 1024, cpuUs: ticks * 1_000_000 / max(1, hz), writeCalls: writeCalls)
    }

    /// CPU time of the whole machine so far, in microseconds summed over cores: busy (everything
    /// but idle and iowait) and total, from the first line of /proc/stat.
    public static func machineCPU() -> (busyUs: Int64, totalUs: Int64)? {
        guard let text = readText("/proc/stat") else { return nil }
        return parseMachineCPU(text)
    }

    /// `machineCPU()` from the text of /proc/stat.
    public static func parseMachineCPU(_ stat: String) -> (busyUs: Int64, totalUs: Int64)? {
        guard let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Int64($0) }
        guard ticks.count >= 5 else { return nil }
        let total = ticks.prefix(8).reduce(0, +)          // user nice system idle iowait irq softirq steal
        let idle = ticks[3] + ticks[4]
        let hz = Int64(sysconf(Int32(_SC_CLK_TCK)))
        let scale = 1_000_000 / max(1, hz)
        return ((total - idle) * scale, total * scale)
    }

    /// The value in KiB of a `Name:   123 kB` line of /proc/PID/status.
    public static func parseStatusKiB(_ status: String, field: String) -> Int64? {
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            let digits = line.dropFirst(field.count).filter { $0.isNumber }
            return Int64(String(digits))
        }
        return nil
    }

    /// utime + stime in clock ticks from /proc/PID/stat. The command name (field 2) is in
    /// parentheses and may hold spaces, so fields are counted from the last `)`.
    public static func parseStatCPUTicks(_ stat: String) -> Int64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // rest[0] is field 3 (state); utime is field 14 and stime field 15.
        guard rest.count > 12, let utime = Int64(rest[11]), let stime = Int64(rest[12]) else { return nil }
        return utime + stime
    }

    static func readPid(_ path: String) -> Int32? {
        guard let text = readText(path) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Reads a whole small file with open/read (files in /proc report a size of 0, so a
    /// size-driven read would see nothing). At most 64 KiB.
    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 65536)
        var used = 0
        while used < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + used, $0.count - used) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            used += n
        }
        return String(decoding: bytes[0..<used], as: UTF8.self)
    }
}
