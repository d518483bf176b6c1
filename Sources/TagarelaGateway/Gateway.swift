// Gateway: starts the gateway's event-loop threads with their SO_REUSEPORT listeners, and stops them.
import Foundation
import TagarelaBus
import TagarelaCrypto
import TagarelaSystem
import TagarelaZlib

/// The gateway process (README.md "How it is built", Gateway): `config.loops` event loops, one thread each,
/// each with its own listener on the shared port (the kernel spreads connections across them)
/// and its own link to every worker.
///
/// `Gateway.run(config)` is what `tagarela gateway` calls; tests use `init`, `start` and `stop`.
public final class Gateway {
    /// The settings it was started with.
    public let config: GatewayConfig
    /// The bound port (the real one when `config.port` was 0).
    public let port: Int
    /// Online users across every loop (`get_presence`).
    public let presence = PresenceTable()
    /// Open connection counts for the total and per-IP limits.
    public let admission: ConnectionAdmission
    /// Groups created per user, across every loop (`Limits.groupsCreatedPerUserMax`).
    public let groupQuota: UserQuota
    /// Attachment bytes per user, across every loop (`Limits.attachmentBytesPerUserMax`).
    public let attachmentQuota: UserQuota
    private(set) var loops: [GatewayLoop] = []
    /// This process's token in its loops' bus inboxes (`C.gw.<busID>.<loop>`): random, so a
    /// restarted gateway never receives answers meant for its previous life.
    let busID: String = Gateway.randomBusID()
    /// The system's zlib, loaded once when compression is on (each loop makes its own streams);
    /// nil when compression is off or zlib is missing, which is logged: the gateway then offers
    /// no permessage-deflate and runs uncompressed.
    let zlib: ZlibLibrary?
    private let listenFDs: [Int32]
    private let finished = DispatchGroup()
    private let stateLock = NSLock()
    private var started = false
    private var stopped = false

    /// Binds every loop's listener (nothing is served until `start()`).
    public init(config: GatewayConfig) throws {
        precondition(config.loops >= 1, "the gateway needs at least one loop")
        precondition(config.workers >= 0, "negative worker count")
        ProcessSetup.ignoreSIGPIPE()
        self.config = config
        self.admission = ConnectionAdmission(maxTotal: config.limits.connectionsMax,
                                             maxPerIP: config.limits.connectionsPerIPMax)
        self.groupQuota = UserQuota(max: config.limits.groupsCreatedPerUserMax,
                                    windowMs: config.limits.groupsCreatedWindowMs)
        self.attachmentQuota = UserQuota(max: config.limits.attachmentBytesPerUserMax,
                                         windowMs: config.limits.attachmentBytesWindowMs)
        self.zlib = Gateway.loadZlib(config)
        var fds: [Int32] = []
        do {
            let first = try Socket.listenTCP(host: config.host, port: config.port, reusePort: true)
            fds.append(first)
            port = config.port == 0 ? try Socket.boundPort(first) : config.port
            for _ in 1..<config.loops {
                fds.append(try Socket.listenTCP(host: config.host, port: port, reusePort: true))
            }
            listenFDs = fds
            for i in 0..<config.loops {
                loops.append(try GatewayLoop(index: i, gateway: self, config: config, listenFD: fds[i]))
            }
        } catch {
            for fd in fds { FileDescriptor.close(fd) }
            throw error
        }
    }

    /// Starts one thread per loop. Returns at once.
    public func start() {
        stateLock.lock()
        defer { stateLock.unlock() }
        precondition(!started, "a gateway starts once")
        started = true
        for loop in loops {
            finished.enter()
            let thread = Thread { [finished] in
                loop.start()
                loop.eventLoop.run()
                finished.leave()
            }
            thread.name = "gateway-loop-\(loop.index)"
            thread.start()
        }
    }

    /// Stops every loop (their connections and links are closed), waits for the threads and
    /// closes the listeners. Safe to call more than once and from any thread but a loop's own.
    public func stop() {
        stateLock.lock()
        let first = !stopped
        stopped = true
        let wasStarted = started
        stateLock.unlock()
        guard first else { return }
        if wasStarted {
            for loop in loops {
                loop.eventLoop.execute { loop.prepareStop() }
                loop.eventLoop.stop()
            }
            finished.wait()
        }
        for fd in listenFDs { FileDescriptor.close(fd) }
    }

    /// The zlib library when `config.compression` asks for it; says why not in the log.
    static func loadZlib(_ config: GatewayConfig) -> ZlibLibrary? {
        guard config.compression else { return nil }
        do {
            return try ZlibLibrary(name: config.zlibLibraryName)
        } catch {
            config.log("WebSocket compression off: zlib could not be loaded (\(error)); running uncompressed")
            return nil
        }
    }

    /// Blocks until `stop()` has finished the loops.
    public func wait() {
        finished.wait()
    }

    /// Runs a gateway in the foreground until SIGINT or SIGTERM, then stops it cleanly.
    /// This is the entry point of `tagarela gateway`.
    public static func run(_ config: GatewayConfig) throws {
        _ = try? ProcessSetup.raiseOpenFileLimit()
        var config = config
        if let bus = config.bus {
            // A bus that cannot be reached is an operator's mistake to report now, not a gateway
            // that listens and answers every request `unavailable`. The shard count is the
            // cluster's, stored by its first worker: no gateway flag can disagree with it.
            try BusStartup.checkReachable(bus, name: "tagarela-gateway")
            guard let layout = try ClusterLayout.read(bus) else {
                throw BusConfigError("cluster \(bus.subjects.cluster) has no layout in the bus yet: start its workers first "
                                     + "(deploy/tagarela start --bus ... --role workers --total-shards N)")
            }
            config.workers = layout.shards
        }
        let gateway = try Gateway(config: config)
        gateway.start()
        config.log("listening on \(config.host):\(gateway.port) with \(config.loops) loops, "
                   + "\(config.workers) workers " + (config.bus.map { "over the bus \($0.description) (cluster \($0.subjects.cluster))" } ?? "in \(config.runDir)")
                   + (config.echoPath.map { ", echo route \($0)" } ?? ""))
        let done = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            sources.append(source)
        }
        done.wait()
        config.log("stopping")
        gateway.stop()
        sources.forEach { $0.cancel() }
    }
}

extension Gateway {
    /// 16 hex digits of secure randomness.
    static func randomBusID() -> String {
        hexString(SecureRandom.bytes(count: 8))
    }
}
