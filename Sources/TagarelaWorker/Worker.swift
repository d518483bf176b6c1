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
        let log: (String) -> Void = { line in
            FileHandle.standardError.write(("worker \(config.shard): " + line + "\n").data(using: .utf8)!)
        }
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
            try BusStartup.checkReachable(bus, name: "tagarela-worker-\(config.shard)")
        }
        let server = try WorkerServer(config: config, log: log)
        let signals = installStopSignals { server.stop() }
        // The sources must outlive the loop: a released source stops delivering signals.
        withExtendedLifetime(signals) { server.run() }
        log("stopped")
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

    public var description: String {
        switch self {
        case let .layoutMismatch(data, requested):
            return "the data is partitioned for \(data) workers, not \(requested); run `deploy/tagarela scale \(requested)`"
        }
    }
}
