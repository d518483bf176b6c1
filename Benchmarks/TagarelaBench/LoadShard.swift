// LoadShard: one event-loop thread of the bench, owning whole groups of clients, their counters and phases.
import Dispatch
import Foundation
import TagarelaEventLoop
import TagarelaSystem

/// What one shard is doing; the driver starts each phase and waits for `pending` to reach 0.
enum ShardPhase: String {
    case idle, connecting, authenticating, grouping, sending, storming, closing
}

/// A copy of a shard's state for the driver thread.
struct ShardSnapshot {
    /// Cumulative counters.
    var counters: RunCounters
    /// Delivery latency since the previous snapshot that asked for it (progress lines).
    var intervalDeliveryUs: LatencyHistogram
    /// Largest send lag (open loop) since the previous snapshot that asked for it.
    var intervalMaxSendLagUs: Int64
    /// Connections ready now.
    var ready: Int
    /// Work left in the current phase (0 = done).
    var pending: Int
    /// Monotonic µs when `pending` reached 0 (0 while not done).
    var phaseDoneUs: Int64
    /// `message` requests without a response yet.
    var outstanding: Int
}

/// One bench thread: an `EventLoop` and the clients it owns. Every method but `sync`, `start`
/// and `stop` runs on the loop thread (the driver reaches it through `sync`).
final class LoadShard: BenchClientOwner {
    let loop: EventLoop
    let options: BenchOptions
    /// Every client of this shard.
    var clients: [BenchClient] = []
    /// Groups owned by this shard; member 0 creates the group.
    var groups: [[BenchClient]] = []

    var counters = RunCounters()
    var intervalDeliveryUs = LatencyHistogram()
    var intervalMaxSendLagUs: Int64 = 0
    var phase: ShardPhase = .idle
    var pending = 0
    var phaseDoneUs: Int64 = 0
    var ready = 0
    var rng: FastRandom
    /// This thread's permessage-deflate state when the run offers compression.
    let compression: BenchCompression?
    /// Reusable buffers for building requests and frames.
    var scratch: [UInt8] = []
    var jsonScratch: [UInt8] = []

    /// Ramp: clients waiting to connect, and handshakes in flight (at most `options.batch`).
    var connects = ClientWindow()
    /// Scripted requests (register/login, create_group), at most `options.batch` at a time.
    var scripts = ClientWindow()
    var authMode: ConnectAuth = .none

    // Sending (see LoadShard+Sending.swift).
    var senders: [BenchClient] = []
    var sendStartUs: Int64 = 0
    var sendEndUs: Int64 = 0
    var sendIntervalUs: Double = 0
    var sendsScheduled: Int64 = 0
    var sendTimer: TimerHandle? = nil
    var closedLoop = false
    /// Samples are counted only for messages stamped at or after this (warm-up excluded).
    var measureStartUs: Int64 = .max
    /// Content padding after the `t=... ` prefix, built once.
    var padding: [UInt8] = []

    private var thread: Thread? = nil
    private let finished = DispatchSemaphore(value: 0)

    init(options: BenchOptions, seed: UInt64) throws {
        self.loop = try EventLoop()
        self.options = options
        self.rng = FastRandom(seed: seed)
        self.compression = options.compression ? try BenchCompression() : nil
        if options.coalesceUs > 0 {
            let rest = UInt32(options.coalesceUs)
            loop.addBeforeSleep { usleep(rest) }
        }
    }

    /// Starts the loop thread.
    func start(name: String) {
        let thread = Thread { [loop, finished] in
            loop.run()
            finished.signal()
        }
        thread.name = name
        thread.start()
        self.thread = thread
    }

    /// Stops the loop (closing every connection) and waits up to `timeoutS` for the thread.
    func stop(timeoutS: Double = 10) {
        loop.stop()
        _ = finished.wait(timeout: .now() + timeoutS)
    }

    /// Runs `body` on the loop thread and returns its result (waits at most `timeoutS`; nil on timeout).
    func sync<T>(timeoutS: Double = 30, _ body: @escaping (LoadShard) -> T) -> T? {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        loop.execute { [self] in
            box.value = body(self)
            done.signal()
        }
        guard done.wait(timeout: .now() + timeoutS) == .success else { return nil }
        return box.value
    }

    /// Copies the state for the driver; `resetInterval` restarts the progress-line histogram.
    func snapshot(resetInterval: Bool) -> ShardSnapshot {
        let s = ShardSnapshot(counters: counters, intervalDeliveryUs: intervalDeliveryUs,
                              intervalMaxSendLagUs: intervalMaxSendLagUs, ready: ready, pending: pending,
                              phaseDoneUs: phaseDoneUs, outstanding: clients.reduce(0) { $0 + $1.outstanding })
        if resetInterval {
            intervalDeliveryUs.reset()
            intervalMaxSendLagUs = 0
        }
        return s
    }

    static func nowUs() -> Int64 { Clock.monotonicNs() / 1000 }

    /// Enters `phase` with `work` items left.
    func begin(_ phase: ShardPhase, work: Int) {
        self.phase = phase
        pending = work
        phaseDoneUs = work == 0 ? LoadShard.nowUs() : 0
    }

    /// One item of the phase's work is done (or failed).
    func workDone() {
        guard pending > 0 else { return }
        pending -= 1
        if pending == 0 { phaseDoneUs = LoadShard.nowUs() }
    }

    // MARK: - Connecting

    /// Connects `targets` (all clients when nil), at most `options.batch` handshakes at once.
    func connect(_ targets: [BenchClient]? = nil) {
        connects.restart(targets ?? clients)
        connects.inFlight = 0
        begin(.connecting, work: connects.count)
        pumpConnects()
    }

    /// Starts connects until the window is full.
    func pumpConnects() {
        while let client = connects.next(limit: options.batch) {
            counters.connectStarted += 1
            do {
                try client.connect(on: loop, nowUs: LoadShard.nowUs(), keyRandom: &rng)
                connects.inFlight += 1
                client.markRawReady(nowUs: LoadShard.nowUs())
            } catch {
                counters.connectFailed += 1
                counters.countError("connect: \(error)")
                connectFinished(client, ok: false)
            }
        }
    }

    /// A connect ended (ready or failed): the phase's bookkeeping.
    private func connectFinished(_ client: BenchClient, ok: Bool) {
        if phase == .connecting {
            workDone()
        } else if phase == .storming && !ok {
            workDone()   // this client will not be back
        }
    }

    // MARK: - BenchClientOwner

    func clientReady(_ client: BenchClient, nowUs: Int64) {
        connects.inFlight -= 1
        counters.connected += 1
        counters.handshakeUs.record(nowUs - client.connectStartUs)
        ready += 1
        connectFinished(client, ok: true)
        if phase == .storming { stormClientReady(client) }
        pumpConnects()
    }

    func clientClosed(_ client: BenchClient, wasReady: Bool, reason: String) {
        if wasReady {
            ready -= 1
            if !client.closeExpected {
                counters.closedUnexpectedly += 1
                counters.countError("closed: \(reason)")
            }
        } else {
            connects.inFlight -= 1
            if !client.closeExpected {
                counters.connectFailed += 1
                counters.countError("connect: \(reason)")
            }
            connectFinished(client, ok: false)
        }
        client.outstanding = 0
        switch phase {
        case .closing:
            if wasReady { workDone() }
        case .storming:
            if client.closeExpected && wasReady && client.step == LoadShard.stepAborted {
                client.step = 0
                connects.append(client)
            } else if wasReady && client.step != 0 {
                workDone()   // lost during its catch-up: it will not be back
                client.step = 0
            }
        case .authenticating, .grouping:
            if client.step != 0 {
                client.step = 0
                scriptFinished()
            }
        default:
            break
        }
        pumpConnects()
    }

    func clientRead(_ client: BenchClient, wireBytes count: Int) {
        counters.wireBytesIn += Int64(count)
    }

    func clientReceived(_ client: BenchClient, _ text: UnsafeRawBufferPointer, nowUs: Int64) {
        counters.bytesIn += Int64(text.count)
        let scan = DeliveryScanner.scan(text)
        switch scan.kind {
        case .delivery:
            let outcome = client.seqs.deliver(scan.seq)
            guard scan.sentUs >= measureStartUs else { return }
            counters.deliveries += 1
            let latency = nowUs - scan.sentUs
            counters.deliveryUs.record(latency)
            intervalDeliveryUs.record(latency)
            if outcome == .duplicate { counters.duplicates += 1 }
            if outcome == .outOfOrder { counters.outOfOrder += 1 }
        case .messageAck:
            client.seqs.mark(scan.seq)
            if client.outstanding > 0 { client.outstanding -= 1 }
            if scan.sentUs >= measureStartUs {
                counters.acked += 1
                counters.ackUs.record(nowUs - scan.sentUs)
            }
            messageAnswered(client, nowUs: nowUs)
        case .messageError:
            if client.outstanding > 0 { client.outstanding -= 1 }
            if nowUs >= measureStartUs {
                counters.ackErrors += 1
                counters.countError(scan.code.map { DeliveryScanner.string(text, $0) } ?? "unknown")
            }
            messageAnswered(client, nowUs: nowUs)
        case .otherResponse:
            scriptResponse(client, scan, text)
        case .otherEvent:
            break
        case .unreadable:
            counters.countError("unreadable message from server")
        }
    }

    // MARK: - Closing

    /// Closes every ready connection with a close handshake.
    func closeAll() {
        stopSending()
        begin(.closing, work: ready)
        for client in clients where client.state == .ready || client.state == .upgrading || client.state == .connecting {
            client.closeGracefully(maskKey: rng.next32())
        }
    }
}

/// Carries a result from the loop thread back to the driver (the semaphore orders the accesses).
private final class ResultBox<T> {
    var value: T?
}
