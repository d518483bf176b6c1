// SystemdWatchdog: tells systemd, from the worker's own event loop, that the loop still turns (sd_notify WATCHDOG=1).
import TagarelaSystem

/// Under systemd with `WatchdogSec=`, the manager passes `NOTIFY_SOCKET` and `WATCHDOG_USEC`
/// and kills the service (`WatchdogSignal=`) when no `WATCHDOG=1` arrives in time. The worker
/// sends it from a timer on its one event loop, so a worker that is stopped (SIGSTOP) or whose
/// loop is stuck stops sending and is replaced: the systemd counterpart of `deploy/tagarela`'s
/// check of the gateway's heartbeat (sd_notify(3), systemd.service(5) `WatchdogSec=`).
public struct SystemdWatchdog: Equatable {
    /// The notification socket (`@` first for an abstract one).
    public var socketPath: String
    /// How often to notify: half the watchdog timeout, as sd_watchdog_enabled(3) advises.
    public var intervalMs: Int64

    /// Creates a watchdog notifier.
    public init(socketPath: String, intervalMs: Int64) {
        self.socketPath = socketPath
        self.intervalMs = intervalMs
    }

    /// The watchdog systemd asked for in `environment`, or nil when it asked for none (or asked
    /// another process: `WATCHDOG_PID` names the main process, which may not be us).
    public static func from(environment: [String: String], pid: Int32) -> SystemdWatchdog? {
        guard let socket = environment["NOTIFY_SOCKET"], !socket.isEmpty,
              let usecText = environment["WATCHDOG_USEC"], let usec = Int64(usecText), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        return SystemdWatchdog(socketPath: socket, intervalMs: max(1, usec / 2_000))
    }

    /// One `WATCHDOG=1`; a failure is returned for the caller to log, never fatal (without the
    /// notification systemd restarts the worker, which is the safe outcome).
    func notify() -> SystemError? {
        do {
            try Socket.sendDatagram(Array("WATCHDOG=1".utf8), toUnixPath: socketPath)
            return nil
        } catch {
            return error as? SystemError ?? SystemError(op: "sd_notify", errno: 0)
        }
    }
}
