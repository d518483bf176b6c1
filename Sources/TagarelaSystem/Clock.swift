// Clock: monotonic and wall-clock time in milliseconds.
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
}
