// Clock: monotonic and wall-clock time in milliseconds, and UTC timestamps for file names.
import Glibc

/// Millisecond clocks. Use `monotonicMs` for timeouts and intervals (it never jumps), and
/// `wallMs` only for timestamps shown to people or stored (it follows NTP and manual changes).
public enum Clock {
    /// Milliseconds since an arbitrary fixed point (boot), never decreasing.
    public static func monotonicMs() -> Int64 {
        monotonicNs() / 1_000_000
    }

    /// Nanoseconds since an arbitrary fixed point, never decreasing (for latency measurements).
    public static func monotonicNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Milliseconds since the Unix epoch (UTC).
    public static func wallMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Seconds since the Unix epoch (UTC).
    public static func wallSeconds() -> Int64 {
        Int64(time(nil))
    }

    /// `epochSeconds` as an ISO 8601 basic UTC timestamp, `yyyymmddThhmmssZ`: sorts as text in
    /// time order and holds no character a file name must avoid.
    public static func utcStamp(epochSeconds: Int64) -> String {
        var t = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }
}
