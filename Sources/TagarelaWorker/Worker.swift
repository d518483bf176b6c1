// Worker: the entry point of a worker process: checks the data layout, installs signal handling and runs the server.
import Dispatch
import Foundation
import TagarelaBus
import TagarelaStore
import TagarelaSystem

/// `tagarela worker`: one shard's process.
public enum Worker {
    /// Runs until SIGTERM or SIGINT, then commits what is pending and returns.
    public static func run(_ config: WorkerConfig) throws {
        var config = config
        config.watchdog = config.watchdog ?? SystemdWatchdog.from(environment: ProcessInfo.processInfo.environment, pid: getpid())
        ProcessSetup.ignoreSIGPIPE()
        _ = try? ProcessSetup.raiseOpenFileLimit()
        let writer = LogWriter(process: "worker \(config.shard)", format: config.logFormat)
        let log: (String) -> Void = { line in writer.line(line) }
        // A worker started for a different partitioning than the data has would serve the wrong
        // slots and miss data that lives in other shard folders: refuse instead.
        if let layout = try Layout.read(dataDir: config.dataDirectory), layout.workers != config.workers {
            throw WorkerError.layoutMismatch(dataWorkers: layout.workers, requested: config.workers)
        }
        // Under systemd no supervisor runs `reshard --recover` first: the worker closes the data
        // folder itself, and the socket's folder when it lies inside it (run/). A socket folder
        // elsewhere is the operator's to choose; the socket itself is 0600 and checks its peers.
        try PrivateFiles.makePrivate(config.dataDirectory, recursive: false, log: log)
        let socketFolder = FileTree.parentDirectory(config.socketPath)
        if socketFolder.hasPrefix(config.dataDirectory + "/") {
            try PrivateFiles.makePrivate(socketFolder, recursive: false, log: log)
        }
        if let bus = config.bus {
            config.busOwnerID = try claim(bus, config, log: log)
        }
        let server = try WorkerServer(config: config, log: log)
        let signals = installStopSignals { server.stop() }
        // The sources must outlive the loop: a released source stops delivering signals.
        withExtendedLifetime(signals) { server.run() }
        if let reason = server.fencedReason { throw WorkerError.fenced(shard: config.shard, reason: reason) }
        log("stopped")
    }

    /// Under a bus, before serving: the cluster's layout must be ours (stored if the cluster has
    /// none) and shard K's lease must be free or ours already. Returns the owner id.
    static func claim(_ bus: BusSettings, _ config: WorkerConfig, log: (String) -> Void) throws -> String {
        try BusStartup.checkReachable(bus, name: "tagarela-worker-\(config.shard)")
        let stored = try ClusterLayout.claim(ClusterLayout(shards: config.workers), bus)
        guard stored == ClusterLayout(shards: config.workers) else {
            throw WorkerError.clusterLayoutMismatch(cluster: bus.subjects.cluster, stored: stored.shards, requested: config.workers)
        }
        let owner = try ShardOwnerID.load(dataDirectory: config.dataDirectory, shard: config.shard)
        if let holder = try ShardLease.take(shard: config.shard, owner: owner, bus) {
            throw WorkerError.shardOwned(shard: config.shard, cluster: bus.subjects.cluster, owner: holder)
        }
        log("shard \(config.shard): lease taken as \(owner) (cluster \(bus.subjects.cluster), \(stored.shards) shards)")
        return owner
    }

    /// SIGTERM/SIGINT stop the loop cleanly (DispatchSource: a signal handler may not touch the loop).
    static func installStopSignals(_ stop: @escaping () -> Void) -> [DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler(handler: stop)
            source.resume()
            return source
        }
    }
}

/// Why a worker refused to start.
public enum WorkerError: Error, CustomStringConvertible {
    case layoutMismatch(dataWorkers: Int, requested: Int)
    /// Another worker holds shard K's lease in the bus (exit status 3).
    case shardOwned(shard: Int, cluster: String, owner: String)
    /// The cluster's layout in the bus is not the one this worker was started for (exit status 4).
    case clusterLayoutMismatch(cluster: String, stored: Int, requested: Int)
    /// The worker lost its lease and stopped serving (exit status 5).
    case fenced(shard: Int, reason: String)

    /// The process's exit status for this refusal (`tagarela worker`; deploy/tagarela does not
    /// restart a worker refused with 3 or 4: another one serves the shard, or the layout is wrong).
    public var exitStatus: Int32 {
        switch self {
        case .layoutMismatch: return 1
        case .shardOwned: return 3
        case .clusterLayoutMismatch: return 4
        case .fenced: return 5
        }
    }

    public var description: String {
        switch self {
        case let .layoutMismatch(data, requested):
            return "the data is partitioned for \(data) workers, not \(requested); run `deploy/tagarela scale \(requested)`"
        case let .shardOwned(shard, cluster, owner):
            return "shard \(shard) of cluster \(cluster) is served by another worker (owner \(owner)); refusing to start a second one"
        case let .clusterLayoutMismatch(cluster, stored, requested):
            return "cluster \(cluster) is laid out for \(stored) shards in the bus, not \(requested); refusing to start"
        case let .fenced(shard, reason):
            return "shard \(shard): lost its lease (\(reason)); stopped serving"
        }
    }
}
