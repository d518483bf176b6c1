// E2EProcess: finds the tagarela binary and the supervisor script, runs commands with a deadline, and ends only processes a test started.
import Foundation
import Glibc
import TagarelaSystem

/// What a finished command printed and how it ended.
public struct E2ECommandResult {
    /// The exit status (128 + signal when killed).
    public let status: Int32
    /// stdout and stderr, interleaved as written.
    public let output: String
}

/// Process helpers for the end-to-end tests.
public enum E2EProcess {
    /// The debug `tagarela` built next to the test bundle (`swift build --build-tests`), found from
    /// `/proc/self/exe` (the xctest runner on Linux) or from the loaded `.xctest` bundle.
    /// `TAGARELA_E2E_BIN` overrides it (to run the suite against a release binary).
    public static let binary: String = {
        if let override = ProcessInfo.processInfo.environment["TAGARELA_E2E_BIN"], !override.isEmpty {
            return override
        }
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent)
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append((bundle.bundlePath as NSString).deletingLastPathComponent)
        }
        candidates.append(repositoryRoot + "/.build/debug")
        for dir in candidates {
            let path = dir + "/tagarela"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return candidates[0] + "/tagarela"
    }()

    /// The repository root, from this file's compile-time path (Tests/TestSupport/E2EProcess.swift).
    public static let repositoryRoot: String = {
        let file = URL(fileURLWithPath: #filePath)
        return file.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// `deploy/tagarela`, the supervisor script.
    public static var supervisor: String { repositoryRoot + "/deploy/tagarela" }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
    public static func freePort() throws -> Int {
        let fd = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: false)
        defer { FileDescriptor.close(fd) }
        return try Socket.boundPort(fd)
    }

    /// The environment for child processes: ours without any TAGARELA_* setting, plus `extra`.
    public static func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TAGARELA_") }
        for (key, value) in extra { env[key] = value }
        return env
    }

    /// Runs `executable args` to completion with stdout+stderr captured in a file; kills it
    /// (SIGKILL) and reports status 137 when it outlives `timeoutMs`. posix_spawn and a polled
    /// `waitpid(WNOHANG)`, so no run loop or signal source is involved.
    public static func run(_ executable: String, _ args: [String], environment env: [String: String],
                           timeoutMs: Int) throws -> E2ECommandResult {
        let outputPath = "/tmp/tgr-e2e-cmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { unlink(outputPath) }
        let pid = try spawn(executable, args, environment: env, outputPath: outputPath)
        var status: Int32 = 0
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        var exitStatus: Int32? = nil
        while exitStatus == nil {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                // WIFEXITED / WEXITSTATUS / WTERMSIG spelled out (the C macros are not imported).
                let signal = status & 0x7F
                exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            } else if r < 0 && errno != EINTR {
                throw E2EError.process("waitpid(\(pid)) failed: errno \(errno)")
            } else if Clock.monotonicMs() >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                exitStatus = 137
            } else {
                usleep(10_000)
            }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return E2ECommandResult(status: exitStatus!, output: text)
    }

    /// Starts `executable args` with stdin from /dev/null and stdout+stderr appended to
    /// `outputPath`; returns its pid (the caller reaps it).
    public static func spawn(_ executable: String, _ args: [String], environment env: [String: String],
                             outputPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + args).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard rc == 0 else { throw E2EError.process("posix_spawn(\(executable)) failed: errno \(rc)") }
        return pid
    }

    /// The NUL-separated command line of `pid`, joined with spaces; nil when it is gone.
    public static func commandLine(_ pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// True while `pid` exists and is not a zombie.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z"
    }

    /// The parent pid of `pid` (from /proc/PID/stat), nil when it is gone.
    public static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// Sends `signal` to `pid` only if its command line contains `marker` (a test's own data
    /// folder), so a recycled pid of someone else's process is never touched. True when sent.
    @discardableResult
    public static func signal(_ pid: Int32, _ signal: Int32, ifCommandLineContains marker: String) -> Bool {
        guard pid > 1, let line = commandLine(pid), line.contains(marker) else { return false }
        return kill(pid, signal) == 0
    }

    /// Polls `condition` every `intervalMs` until it holds or `timeoutMs` passes; returns whether it held.
    @discardableResult
    public static func waitUntil(timeoutMs: Int, intervalMs: Int = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while true {
            if condition() { return true }
            if Clock.monotonicMs() >= deadline { return false }
            usleep(useconds_t(intervalMs * 1000))
        }
    }
}
