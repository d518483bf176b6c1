// ProcessSetup: process-wide settings every server process makes at start (open-file limit, SIGPIPE).
import Glibc

/// Process-wide settings for servers.
public enum ProcessSetup {
    /// Raises the soft `RLIMIT_NOFILE` to the hard limit (tens of thousands of sockets need
    /// more than the usual soft 1024) and returns the new soft limit.
    @discardableResult
    public static func raiseOpenFileLimit() throws -> UInt64 {
        var limits = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        if getrlimit(resource, &limits) != 0 { throw SystemError(op: "getrlimit(RLIMIT_NOFILE)") }
        if limits.rlim_cur < limits.rlim_max {
            limits.rlim_cur = limits.rlim_max
            if setrlimit(resource, &limits) != 0 { throw SystemError(op: "setrlimit(RLIMIT_NOFILE)") }
        }
        return UInt64(limits.rlim_cur)
    }

    /// This process's id.
    public static var processID: Int32 { getpid() }

    /// Ignores SIGPIPE so writing to a reset socket fails with `EPIPE` instead of killing the process.
    public static func ignoreSIGPIPE() {
        signal(SIGPIPE, SIG_IGN)
    }
}
