// EventLoop: a single-threaded reactor over a level-triggered poller: the turn structure, timers, cross-thread execute and before-sleep hooks.
import Glibc
import TagarelaSystem

/// One reactor per thread. The poller is level-triggered: a channel with more to read than one
/// turn allows (`maxReadsPerTurn` reads of 64 KiB) is simply reported again next turn, which
/// makes fairness free; interest in `.writable` is armed only while a channel's socket is full.
///
/// A turn:
/// 1. the poller's wait (timeout 0 if work is pending, else until the next timer);
/// 2. I/O callbacks: reads (`channelRead`), accepts (`onAccept`); writable sockets join the dirty list;
/// 3. tasks from `execute`; 4. due timers;
/// 5. safe point: channels marked for close are closed (`channelClosed`);
/// 6. before-sleep hooks, in the order added (the worker's group commit goes here);
/// 7. flush: every dirty channel gets one `writev` of its queued chunks, so nothing a hook
///    gated (a reply waiting for its fsync) leaves before the hook ran; 8. safe point again.
///
/// Output coalescing (`flushDelayMs`, off by default; EventLoop+Coalescing): in step 7 a channel
/// whose queue is under `flushHoldBytesMax` and whose oldest unflushed byte is younger than
/// `flushDelayMs` may be held for a later turn instead of written, so that it leaves in fewer,
/// larger writes. Under `flushPolicy` `.whenIdle` (the default) it is held only while more input
/// is already ready (a zero-timeout peek at the poller), so an idle loop writes in the same turn;
/// under `.fixedDelay` it is always held until the delay passes. Either way the poll timeout never
/// passes the earliest held deadline, so no byte waits longer than the delay (give or take the
/// clock's millisecond); `Channel.flushPromptly()` exempts one flush.
///
/// Everything but `stop()` and `execute(_:)` must be called on the loop's thread. That contract
/// is what makes a loop safe to share (`@unchecked`: the compiler cannot check it): a loop is
/// handed to the thread that runs it, and other threads only stop it or hand it work.
public final class EventLoop: @unchecked Sendable {
    /// Reads per channel per turn before the loop moves on to other channels.
    public static let maxReadsPerTurn = 4
    /// Accepts per listener per turn, so a connection storm cannot starve established clients.
    public static let maxAcceptsPerTurn = 64
    /// How long `closeAfterFlush` waits for a peer to take its last bytes before closing anyway.
    public static let lingerMs: Int64 = 10_000
    /// How long a listener rests after `EMFILE`/`ENFILE`: level-triggered accept would otherwise spin.
    public static let acceptBackoffMs: Int64 = 100
    /// Ready descriptors one wait reports at most. Readiness is level-triggered, so descriptors
    /// past it are reported again by the next wait, one turn later: this bounds the event array
    /// (16 bytes each) and one turn's dispatch, never which connections get served. 1024 is far
    /// above the descriptors a turn usually finds ready, so a busy turn is rarely cut short.
    public static let readyEventsPerWaitMax = 1024
    /// Size of the shared read buffer.
    public static let readBufferBytes = 64 * 1024
    /// Default `flushHoldBytesMax`: past 16 KiB a write already fills about a dozen TCP segments'
    /// worth of the receiver's window, so waiting for more saves little and only adds latency.
    public static let defaultFlushHoldBytesMax = 16 * 1024

    /// Output coalescing: how long a channel's output may wait for more before it is written
    /// (0 = write every dirty channel every turn). Set it before `run()` or on the loop thread.
    public var flushDelayMs: Int64 = 0 {
        didSet { precondition(flushDelayMs >= 0, "flushDelayMs must not be negative") }
    }
    /// Output coalescing: a queue of at least this many bytes is written at once, delay or not.
    public var flushHoldBytesMax: Int = EventLoop.defaultFlushHoldBytesMax
    /// Output coalescing: hold output only while the loop is busy (`.whenIdle`), or always up to
    /// `flushDelayMs` (`.fixedDelay`). Set it before `run()` or on the loop thread.
    public var flushPolicy: FlushPolicy = .whenIdle
    /// Output coalescing, `.whenIdle` only (0 = off): a channel with `pacedFlushes` that was
    /// written less than this long ago is held, idle loop or not, until this long after that
    /// write (or `flushDelayMs` after its oldest byte, if sooner): Nagle's rule, with the last
    /// write standing for the unacknowledged segment. A lone message still leaves at once; a
    /// connection that receives many gets at most one write per spacing.
    public var flushSpacingMs: Int64 = 0 {
        didSet { precondition(flushSpacingMs >= 0, "flushSpacingMs must not be negative") }
    }
    /// Output coalescing, `.whenIdle` only (0 = off): a channel with `pacedFlushes` holds its
    /// output this long from its oldest byte, idle loop or not (never past `flushDelayMs`): a
    /// short fixed delay for the paced channels alone, while the rest follow the idle rule. With
    /// the millisecond clock, 1 means "until the next millisecond tick", about half a ms on average.
    public var pacedHoldMs: Int64 = 0 {
        didSet { precondition(pacedHoldMs >= 0, "pacedHoldMs must not be negative") }
    }
    /// This flush phase found more input ready (`.whenIdle`): small queues may be held.
    var loopBusy = false
    /// Ready events a flush-phase peek found; the next turn dispatches them without waiting.
    var peekedEvents: Int? = nil
    /// Times a flush phase held a channel (how tests see that output was, or was not, held).
    var holdCount = 0

    let poller: any Poller
    private let wakeup: EventFD
    let readBuffer: UnsafeMutableRawBufferPointer
    let iovecs: UnsafeMutablePointer<iovec>
    let maxIOVectors: Int

    /// Channels by descriptor (descriptors are small, dense integers).
    var channels: [Channel?] = []
    var listeners: [Int32: Listener] = [:]
    /// Channels with output to flush this turn.
    var dirty: [Channel] = []
    /// Channels whose output `flushDelayMs` holds back (each once, flagged `.held`), and the
    /// earliest time one of them is due (`Int64.max` when none).
    var held: [Channel] = []
    var heldEarliestDueMs: Int64 = .max
    /// Channels to close at the next safe point.
    var closing: [Channel] = []
    var timers = TimerQueue()
    private var beforeSleep: [() -> Void] = []
    private var afterFlush: [() -> Void] = []

    private let taskLock = Lock()
    private var tasks: [() -> Void] = []
    private var wakePending = false
    private var stopRequested = false
    private(set) var stopping = false

    /// writev calls made (how tests see that a turn's writes were coalesced).
    var writevCount = 0

    private let idBase: UInt64
    private var idCounter: UInt64 = 0

    /// Monotonic milliseconds, read once per turn after the poller's wait.
    public private(set) var nowMs: Int64

    static let wakeToken = UInt64.max
    static let listenerTag: UInt64 = 1 << 63

    /// Creates the poller, the wake-up eventfd and the shared buffers.
    public init() throws {
        poller = try makePoller(capacity: EventLoop.readyEventsPerWaitMax)
        wakeup = try EventFD()
        try poller.add(wakeup.fd, events: .readable, token: EventLoop.wakeToken)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: EventLoop.readBufferBytes, alignment: 16)
        maxIOVectors = FileDescriptor.maxIOVectors
        iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: maxIOVectors)
        idBase = EventLoop.reserveIDRange()
        nowMs = Clock.monotonicMs()
    }

    deinit {
        readBuffer.deallocate()
        iovecs.deallocate()
        poller.close()
    }

    // MARK: - Running

    /// Runs turns on the calling thread until `stop()`. On the way out it flushes what it can
    /// without waiting, closes every channel (each gets `channelClosed`), stops watching the
    /// listeners (their descriptors stay open: the caller owns them) and drops timers and tasks.
    public func run() {
        while !stopping {
            turn()
        }
        shutDown()
    }

    /// Asks the loop to return from `run()` after the current turn. Thread-safe.
    public func stop() {
        taskLock.withLock { stopRequested = true }
        wakeup.signal()
    }

    /// Runs `work` on the loop's thread during a coming turn. Thread-safe; wakes the loop.
    public func execute(_ work: @escaping () -> Void) {
        let mustWake: Bool = taskLock.withLock {
            tasks.append(work)
            if wakePending { return false }
            wakePending = true
            return true
        }
        if mustWake { wakeup.signal() }
    }

    /// Calls `cb` once, on the loop thread, `afterMs` milliseconds from this turn's `nowMs`.
    /// Timers due in the same turn fire in deadline order, ties in scheduling order.
    @discardableResult
    public func schedule(afterMs: Int64, _ cb: @escaping () -> Void) -> TimerHandle {
        let timer = TimerHandle(deadlineMs: nowMs + Swift.max(afterMs, 0), sequence: timers.makeSequence(),
                                callback: cb, loop: self)
        timers.push(timer)
        return timer
    }

    /// Adds a hook run every turn right after the flush phase (what was written this turn is
    /// known: the gateway's delivery histogram reads its connections' queues here).
    public func addAfterFlush(_ cb: @escaping () -> Void) {
        afterFlush.append(cb)
    }

    /// Adds a hook run every turn after all I/O callbacks, tasks and timers, and before the
    /// loop flushes output and sleeps. Hooks run in the order they were added.
    public func addBeforeSleep(_ cb: @escaping () -> Void) {
        beforeSleep.append(cb)
    }

    private func turn() {
        let count: Int
        if let peeked = peekedEvents {
            count = peeked  // the last flush phase's peek already waited (EventLoop+Coalescing)
            peekedEvents = nil
        } else {
            do {
                count = try poller.wait(timeoutMs: sleepTimeoutMs())
            } catch {
                preconditionFailure("event loop poll failed: \(error)")
            }
        }
        nowMs = Clock.monotonicMs()
        var woken = false
        for index in 0..<count {
            let (token, events) = poller.event(at: index)
            if token & EventLoop.listenerTag != 0 {
                if token == EventLoop.wakeToken {
                    woken = true
                } else {
                    acceptConnections(listenerFD: Int32(truncatingIfNeeded: token & 0xffff_ffff))
                }
            } else {
                dispatch(token: token, events: events)
            }
        }
        if woken { runTasks() }
        runTimers()
        closePending()
        var hook = 0
        while hook < beforeSleep.count {
            beforeSleep[hook]()
            hook += 1
        }
        flushDirty()
        for cb in afterFlush { cb() }
        closePending()
    }

    /// 0 while work is pending, else the time to the earliest timer or held output, else forever.
    /// (Under `.whenIdle` output is held only after a peek found events, which the next turn
    /// dispatches without calling this.)
    private func sleepTimeoutMs() -> Int32 {
        if !dirty.isEmpty || !closing.isEmpty || stopping { return 0 }
        var earliest = timers.earliestDeadline()
        if !held.isEmpty { earliest = Swift.min(earliest ?? .max, heldEarliestDueMs) }
        guard let deadline = earliest else { return -1 }
        let wait = deadline - Clock.monotonicMs()
        return wait <= 0 ? 0 : Int32(clamping: wait)
    }

    private func runTasks() {
        wakeup.drain()
        // The eventfd is drained before the queue is taken, so a task added after this
        // swap sets wakePending again and signals a fresh wake-up; none is lost.
        let batch: [() -> Void] = taskLock.withLock {
            let taken = tasks
            tasks = []
            wakePending = false
            if stopRequested { stopping = true }
            return taken
        }
        for task in batch { task() }
    }

    private func runTimers() {
        let limit = timers.nextSequence
        while let callback = timers.popDue(nowMs: nowMs, sequenceLimit: limit) {
            callback()
        }
    }

    private func shutDown() {
        releaseAllHeld()
        flushDirty()
        closePending()
        for channel in channels {
            if let channel { requestClose(channel) }
        }
        closePending()
        for (fd, _) in listeners { try? poller.remove(fd) }
        listeners = [:]
        timers.removeAll()
        dirty = []
        taskLock.withLock {
            tasks = []
            wakePending = false
        }
    }

    // MARK: - Registration

    /// Watches a listening socket; `onAccept` receives each new non-blocking connection and its
    /// peer address (it usually calls `register`). The caller keeps owning the listener's fd.
    public func addListener(fd: Int32, _ onAccept: @escaping (_ fd: Int32, _ peer: String) -> Void) {
        precondition(listeners[fd] == nil, "listener \(fd) already added")
        do {
            try poller.add(fd, events: .readable, token: EventLoop.listenerTag | UInt64(UInt32(bitPattern: fd)))
        } catch {
            preconditionFailure("addListener(\(fd)): \(error)")
        }
        listeners[fd] = Listener(fd: fd, onAccept: onAccept)
    }

    /// Stops watching a listener (its descriptor is not closed).
    public func removeListener(fd: Int32) {
        guard listeners.removeValue(forKey: fd) != nil else { return }
        try? poller.remove(fd)
    }

    /// Takes ownership of a connected non-blocking socket: reads go to `handler`, writes are
    /// queued on the returned channel, and the loop closes the descriptor when the channel ends.
    /// If the descriptor cannot be watched, the channel is closed at the next safe point.
    /// `maxQueuedBytes` is the channel's output bound (`Channel.maxQueuedBytes`): the loop has
    /// no default, so every bound is chosen, with its reason, by the channel's owner (a client's
    /// is `Limits.outgoingQueueBytesMax`).
    public func register(fd: Int32, handler: ChannelHandler, maxQueuedBytes: Int) -> Channel {
        precondition(fd >= 0, "register needs a descriptor")
        idCounter += 1
        let channel = Channel(fd: fd, id: idBase | idCounter, loop: self, handler: handler,
                              maxQueuedBytes: maxQueuedBytes)
        let slot = Int(fd)
        if slot >= channels.count {
            channels.append(contentsOf: repeatElement(nil, count: Swift.max(slot + 1, channels.count * 2) - channels.count))
        }
        precondition(channels[slot] == nil, "descriptor \(fd) is already registered")
        channels[slot] = channel
        channelCount += 1
        do {
            try poller.add(fd, events: .readable, token: token(for: channel))
            channel.appliedInterest = .interestReadable
        } catch {
            requestClose(channel)
        }
        return channel
    }

    /// Number of registered channels not yet closed (for metrics and tests).
    public internal(set) var channelCount = 0

    /// The poller token: the descriptor in the low half, 31 bits of the channel id above it, so
    /// a stale event for a recycled descriptor number is recognised and ignored.
    @inline(__always)
    func token(for channel: Channel) -> UInt64 {
        UInt64(UInt32(bitPattern: channel.fd)) | ((channel.id & 0x7fff_ffff) << 32)
    }

    // Channel ids: each loop reserves a 2^40-id range once, so ids are unique across all loops of
    // the process without any per-connection synchronisation.
    private static let idLock = Lock()
    nonisolated(unsafe) private static var nextIDRange: UInt64 = 1  // guarded by idLock

    private static func reserveIDRange() -> UInt64 {
        idLock.withLock {
            let range = nextIDRange
            nextIDRange += 1
            return range << 40
        }
    }
}

/// A watched listening socket.
final class Listener {
    let fd: Int32
    let onAccept: (Int32, String) -> Void
    var resting = false

    init(fd: Int32, onAccept: @escaping (Int32, String) -> Void) {
        self.fd = fd
        self.onAccept = onAccept
    }
}
