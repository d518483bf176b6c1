// NATSServerProcess: one nats-server or a cluster of them on free loopback ports with JetStream, for tests; always stopped.
import Foundation
import Glibc
import TagarelaJSON
import TagarelaSystem

/// `nats-server` processes for a test: one, or a cluster whose nodes route to each other, each
/// with JetStream (`-js`, its store in a temporary folder) and a monitoring port used to wait
/// until it is ready. `stop()` (also deinit) kills every node; a detached watchdog does the
/// same, and removes the folder, if the test process dies first.
public final class NATSServerProcess {
    /// One node: its ports and, while it runs, its pid.
    public struct Node {
        public let name: String
        public let clientPort: Int
        public let clusterPort: Int
        public let monitorPort: Int
        public var pid: pid_t?
        /// `nats://127.0.0.1:PORT`
        public var url: String { "nats://127.0.0.1:\(clientPort)" }
    }

    /// The nats-server executable, or nil when it is not installed (`Tests/run` installs it;
    /// a test skips with a message when it is absent).
    public static let executable: String? = {
        for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
            let path = dir + "/nats-server"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    /// Why tests skip when `executable` is nil.
    public static let absentMessage = "nats-server is not installed (Tests/run installs the Debian package nats-server; "
        + "or: apt-get install -y nats-server)"

    public private(set) var nodes: [Node] = []
    /// The folder holding every node's store, log and pid file.
    public let folder: String
    private let token: String?
    private let credentials: (user: String, password: String)?
    private let clustered: Bool
    private var stopped = false

    /// Starts one node (`clusterSize` 1) or a cluster, with an optional client token (or user and
    /// password), and waits
    /// until it serves (a cluster: until JetStream's meta group has a leader). Throws with the
    /// nodes' logs when they do not get ready in `readyTimeoutMs`.
    public init(clusterSize: Int = 1, token: String? = nil, user: String? = nil, password: String? = nil,
                readyTimeoutMs: Int = 20_000) throws {
        guard let executable = NATSServerProcess.executable else { throw E2EError.process(NATSServerProcess.absentMessage) }
        precondition(clusterSize >= 1)
        var template = Array("/tmp/tgr-nats-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw E2EError.process("mkdtemp failed: errno \(errno)")
        }
        folder = String(cString: made)
        self.token = token
        credentials = user.map { ($0, password ?? "") }
        clustered = clusterSize > 1
        for index in 0..<clusterSize {
            nodes.append(Node(name: "n\(index + 1)", clientPort: try E2EProcess.freePort(),
                              clusterPort: try E2EProcess.freePort(), monitorPort: try E2EProcess.freePort(), pid: nil))
        }
        startWatchdog()
        do {
            for index in nodes.indices { try launch(index, executable: executable) }
            try waitUntilReady(timeoutMs: readyTimeoutMs)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// Every node's client URL, comma-separated (the form `--bus` takes).
    public var urlList: String { nodes.map(\.url).joined(separator: ",") }

    /// SIGKILLs node `index` (as a crash would) and reaps it.
    public func kill(node index: Int) {
        guard let pid = nodes[index].pid else { return }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        nodes[index].pid = nil
    }

    /// Starts node `index` again (same ports and store) and waits until the cluster is ready.
    public func restart(node index: Int, readyTimeoutMs: Int = 20_000) throws {
        guard let executable = NATSServerProcess.executable else { throw E2EError.process(NATSServerProcess.absentMessage) }
        precondition(nodes[index].pid == nil, "node \(index) is running")
        try launch(index, executable: executable)
        try waitUntilReady(timeoutMs: readyTimeoutMs)
    }

    /// Kills every node and removes the folder (idempotent).
    public func stop() {
        if stopped { return }
        stopped = true
        for index in nodes.indices { kill(node: index) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The last lines of every node's log (for failure messages).
    public func logTail(lines: Int = 20) -> String {
        nodes.map { node in
            let text = (try? String(contentsOfFile: "\(folder)/\(node.name).log", encoding: .utf8)) ?? ""
            return "--- \(node.name)\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    private func launch(_ index: Int, executable: String) throws {
        let node = nodes[index]
        var args = ["-a", "127.0.0.1", "-p", "\(node.clientPort)", "-n", node.name, "-m", "\(node.monitorPort)",
                    "-js", "-sd", "\(folder)/\(node.name)-store", "-P", "\(folder)/\(node.name).pid"]
        if let token { args += ["--auth", token] }
        if let credentials { args += ["--user", credentials.user, "--pass", credentials.password] }
        if clustered {
            let routes = nodes.filter { $0.name != node.name }.map { "nats://127.0.0.1:\($0.clusterPort)" }
            args += ["--cluster_name", "tgrtest", "--cluster", "nats://127.0.0.1:\(node.clusterPort)",
                     "--routes", routes.joined(separator: ",")]
        }
        nodes[index].pid = try E2EProcess.spawn(executable, args, environment: E2EProcess.environment([:]),
                                                 outputPath: "\(folder)/\(node.name).log")
    }

    /// Every running node answers `/healthz`; in a cluster, every running node's `/jsz` names a
    /// JetStream meta leader (before that, JetStream requests fail).
    private func waitUntilReady(timeoutMs: Int) throws {
        let ready = E2EProcess.waitUntil(timeoutMs: timeoutMs, intervalMs: 100) {
            let alive = self.nodes.filter { $0.pid != nil }
            var metas: [JSON] = []
            let healthy = alive.allSatisfy { node in
                guard let health = try? E2EHTTP.get(port: node.monitorPort, "/healthz"), health.status == 200 else { return false }
                if !self.clustered { return true }
                guard let jsz = try? E2EHTTP.get(port: node.monitorPort, "/jsz"), jsz.status == 200,
                      let json = try? JSON.parse(jsz.body), let meta = json["meta_cluster"],
                      let leader = meta["leader"]?.string else { return false }
                metas.append(meta)
                return !leader.isEmpty
            }
            guard healthy, self.clustered else { return healthy }
            // A leader alone is not enough for an R3 bucket: until the leader counts every live
            // node as a current peer, a stream create answers "no suitable peers for placement"
            // (seen on a loaded machine). Only the leader lists its replicas.
            return metas.contains { meta in
                guard let replicas = meta["replicas"]?.array else { return false }
                return replicas.count >= alive.count - 1 && replicas.allSatisfy { $0["current"]?.bool == true }
            }
        }
        if !ready { throw E2EError.process("nats-server not ready within \(timeoutMs) ms\n" + logTail()) }
    }

    /// A detached shell that kills the nodes (by their pid files, only processes whose command
    /// line names this folder) and removes the folder once this test process is gone.
    private func startWatchdog() {
        let script = """
        while kill -0 \(getpid()) 2>/dev/null && [ -d "$1" ]; do sleep 1; done
        if [ -d "$1" ]; then
          for f in "$1"/*.pid; do
            [ -f "$f" ] || continue
            p="$(cat "$f")"
            tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF "$1" && kill -9 "$p" 2>/dev/null
          done
          rm -rf "$1"
        fi
        """
        _ = try? E2EProcess.run("/bin/bash", ["-c", "setsid /bin/bash -c \"$0\" nats-watchdog \"$1\" </dev/null >/dev/null 2>&1 &",
                                              script, folder],
                                environment: E2EProcess.environment([:]), timeoutMs: 5000)
    }
}
