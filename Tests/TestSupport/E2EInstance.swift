// E2EInstance: one Tagarela instance (supervisor, gateway, workers) in a temporary data folder on a free loopback port, always stopped.
import Foundation
import Glibc

/// An instance run by `deploy/tagarela start --detach` with the debug binary.
///
/// `stop()` (also run by deinit) calls `deploy/tagarela stop`, then SIGKILLs whatever a pid file
/// still names, but only processes whose command line holds this instance's data folder. A
/// detached watchdog does the same if the test process dies before `stop()` runs.
public final class E2EInstance {
    /// The data folder (`--data`), removed by `stop()`.
    public let dataDir: String
    /// The gateway's port on 127.0.0.1.
    public let port: Int
    /// The worker count the instance runs with (changed by `scale`).
    public private(set) var workers: Int
    /// PBKDF2 iterations (low, so tests are fast).
    public let pbkdf2Iterations: Int
    private var stopped = false
    private var extraFlags: [String]
    /// The umask the supervisor is started under (`"000"` reproduces a careless operator's
    /// shell); nil keeps the test process's own.
    public var umask: String? = nil

    /// Creates the data folder and picks a port; `start()` launches.
    public init(workers: Int, pbkdf2Iterations: Int = 1000, fsync: String = "always", extraFlags: [String] = []) throws {
        var template = Array("/tmp/tgr-e2e-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw E2EError.process("mkdtemp failed: errno \(errno)")
        }
        dataDir = String(cString: made)
        port = try E2EProcess.freePort()
        self.workers = workers
        self.pbkdf2Iterations = pbkdf2Iterations
        self.extraFlags = ["--fsync", fsync] + extraFlags
        startWatchdog()
    }

    deinit { stop() }

    /// `run/` inside the data folder: sockets, pid files and logs.
    public var runDir: String { dataDir + "/run" }

    private var environment: [String: String] {
        E2EProcess.environment(["TAGARELA_BIN": E2EProcess.binary,
                                "TAGARELA_PBKDF2_ITERATIONS": String(pbkdf2Iterations)])
    }

    /// Runs `deploy/tagarela ARGS` and returns the result (bounded by `timeoutMs`).
    @discardableResult
    public func supervisor(_ args: [String], timeoutMs: Int = 45_000) throws -> E2ECommandResult {
        if let umask {
            return try E2EProcess.run("/bin/bash", ["-c", "umask \(umask) && exec /bin/bash \"$0\" \"$@\"", E2EProcess.supervisor] + args,
                                      environment: environment, timeoutMs: timeoutMs)
        }
        return try E2EProcess.run("/bin/bash", [E2EProcess.supervisor] + args, environment: environment, timeoutMs: timeoutMs)
    }

    /// `deploy/tagarela start --detach`: returns once `/healthz` answered 200; throws with the logs otherwise.
    public func start() throws {
        guard FileManager.default.isExecutableFile(atPath: E2EProcess.binary) else {
            throw E2EError.process("no tagarela binary at \(E2EProcess.binary): run swift build --build-tests")
        }
        let result = try supervisor(["start", "--detach", "--data", dataDir, "--port", String(port),
                                     "--host", "127.0.0.1", "--workers", String(workers),
                                     "--pbkdf2-iterations", String(pbkdf2Iterations)] + extraFlags)
        guard result.status == 0 else {
            throw E2EError.process("start failed (\(result.status)): \(result.output)\n\(logTail())")
        }
    }

    /// `deploy/tagarela scale N` (stops, re-partitions, starts again); throws with the output on failure.
    public func scale(to n: Int) throws {
        let result = try supervisor(["scale", String(n), "--data", dataDir])
        guard result.status == 0 else {
            throw E2EError.process("scale \(n) failed (\(result.status)): \(result.output)\n\(logTail())")
        }
        workers = n
    }

    /// The pid in `run/NAME.pid` (`gateway`, `worker-K`, `supervisor`), if the file is there.
    public func pid(_ name: String) -> Int32? {
        guard let text = try? String(contentsOfFile: runDir + "/\(name).pid", encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The pid of worker `k` once its pid file names a live worker process.
    public func workerPID(_ k: Int, timeoutMs: Int = 5000) -> Int32? {
        var found: Int32? = nil
        E2EProcess.waitUntil(timeoutMs: timeoutMs) {
            guard let pid = pid("worker-\(k)"), E2EProcess.isAlive(pid),
                  let line = E2EProcess.commandLine(pid), line.contains(" worker "), line.contains(dataDir) else { return false }
            found = pid
            return true
        }
        return found
    }

    /// The last lines of every log of the instance, for failure messages.
    public func logTail(lines: Int = 15) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDir))?.filter { $0.hasSuffix(".log") }.sorted() ?? []
        return names.map { name -> String in
            let text = (try? String(contentsOfFile: runDir + "/" + name, encoding: .utf8)) ?? ""
            return "--- \(name)\n" + text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Stops everything this instance started and removes its data folder (idempotent).
    public func stop() {
        if stopped { return }
        stopped = true
        _ = try? supervisor(["stop", "--data", dataDir], timeoutMs: 20_000)
        killLeftovers()
        try? FileManager.default.removeItem(atPath: dataDir)
    }

    /// SIGKILLs the supervisor's process group and any process a pid file still names, each
    /// only if its command line holds this data folder.
    private func killLeftovers() {
        if let supervisorPID = pid("supervisor"), let line = E2EProcess.commandLine(supervisorPID),
           line.contains("__supervise"), line.contains(dataDir) {
            kill(-supervisorPID, SIGKILL)
            kill(supervisorPID, SIGKILL)
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDir))?.filter { $0.hasSuffix(".pid") } ?? []
        for name in names {
            if let pid = pid(String(name.dropLast(4))) {
                E2EProcess.signal(pid, SIGKILL, ifCommandLineContains: dataDir)
            }
        }
    }

    /// A detached (setsid, reparented) shell that, should this test process die first, stops the
    /// instance and removes the folder; it exits within a second once the folder is gone.
    private func startWatchdog() {
        let script = """
        while kill -0 \(getpid()) 2>/dev/null && [ -d "$1" ]; do sleep 1; done
        if [ -d "$1" ]; then
          /bin/bash "$2" stop --data "$1" >/dev/null 2>&1
          for f in "$1"/run/*.pid; do
            [ -f "$f" ] || continue
            p="$(cat "$f")"
            tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF "$1" && kill -9 "$p" 2>/dev/null
          done
          rm -rf "$1"
        fi
        """
        // The outer shell starts the watchdog in the background and exits at once, so the
        // watchdog is nobody's zombie and the outer shell is reaped right here.
        _ = try? E2EProcess.run("/bin/bash", ["-c", "setsid /bin/bash -c \"$0\" e2e-watchdog \"$1\" \"$2\" </dev/null >/dev/null 2>&1 &",
                                              script, dataDir, E2EProcess.supervisor],
                                environment: environment, timeoutMs: 5000)
    }
}
