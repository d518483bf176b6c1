// Channel: one registered connection: its bounded output queue of shared chunks, close states and read interest.

/// One connection owned by an `EventLoop`. Use it only on that loop's thread.
///
/// Kept deliberately small (about 100 bytes; no read buffer, an output queue that allocates
/// only while output is pending), because the gateway holds one per idle client.
///
/// Closing is never immediate: `close()`, `closeAfterFlush()`, an overflowing queue, a peer's
/// EOF or a socket error only mark the channel, and the loop closes it at a safe point of the
/// turn (after the I/O callbacks, or after the flush), so no handler is re-entered from inside
/// another handler's write. `channelClosed` follows exactly once.
public final class Channel {
    /// The socket.
    public let fd: Int32
    /// Process-unique, never 0 (0 means "no connection" on the gateway-worker link).
    public let id: UInt64
    unowned let loop: EventLoop
    var handler: ChannelHandler?

    // Output queue: chunks[chunkStart...] are unsent; headOffset bytes of the first are sent.
    var chunks: [OutboundBytes] = []
    var chunkStart = 0
    var headOffset = 0
    /// Bytes queued and not yet accepted by the kernel.
    public private(set) var queuedBytes = 0
    /// The loop's `nowMs` when the queue last went from empty to not empty: the age of the oldest
    /// unflushed byte, which `EventLoop.flushDelayMs` bounds.
    var oldestQueuedMs: Int64 = 0
    /// The loop's `nowMs` at this channel's last write to its socket (`EventLoop.flushSpacingMs`).
    var lastFlushMs: Int64 = .min / 2
    /// This channel's flushes are spaced by `EventLoop.flushSpacingMs` (Nagle's rule, per
    /// connection): the owner opts in for connections where a few ms matter less than the writes
    /// saved (the gateway's clients), not for links a reply waits on.
    public var pacedFlushes = false
    /// Queue bound: a write that would pass it drops the chunk and marks the channel for close
    /// (a reader this slow is cut off rather than buffered without limit). Set by the owner at
    /// `EventLoop.register`.
    public var maxQueuedBytes: Int

    var flags: Flags = []
    /// The poller interest last applied (Flags.interestReadable / interestWritable bits).
    var appliedInterest: Flags = []

    struct Flags: OptionSet {
        let rawValue: UInt16
        /// The descriptor is closed and channelClosed has been (or is being) called.
        static let closed = Flags(rawValue: 1 << 0)
        /// Hard close requested; on the loop's closing list.
        static let closing = Flags(rawValue: 1 << 1)
        /// Close once the queue drains (closeAfterFlush or peer EOF); reading has stopped.
        static let flushThenClose = Flags(rawValue: 1 << 2)
        /// pauseReading() is in effect.
        static let readPaused = Flags(rawValue: 1 << 3)
        /// On the loop's dirty list, to be flushed in the before-sleep phase.
        static let dirty = Flags(rawValue: 1 << 4)
        /// The socket was full: EPOLLOUT is armed and the flush waits for it.
        static let writeArmed = Flags(rawValue: 1 << 5)
        /// The queue passed the low-water mark; channelWritable is due when it drains below.
        static let aboveLowWater = Flags(rawValue: 1 << 6)
        static let interestReadable = Flags(rawValue: 1 << 7)
        static let interestWritable = Flags(rawValue: 1 << 8)
        /// On the loop's held list: output kept back by `flushDelayMs`.
        static let held = Flags(rawValue: 1 << 9)
        /// `flushPromptly()`: the next flush writes whatever `flushDelayMs` would hold.
        static let prompt = Flags(rawValue: 1 << 10)

        static let ending: Flags = [.closed, .closing, .flushThenClose]
    }

    init(fd: Int32, id: UInt64, loop: EventLoop, handler: ChannelHandler, maxQueuedBytes: Int) {
        self.fd = fd
        self.id = id
        self.loop = loop
        self.handler = handler
        self.maxQueuedBytes = maxQueuedBytes
    }

    /// The loop that owns this channel.
    public var eventLoop: EventLoop { loop }

    /// True once the channel is closed or marked to close; writes are then ignored.
    public var isClosed: Bool { !flags.isDisjoint(with: .ending) }

    /// `channelWritable` fires when the queue drains from above this to at most this:
    /// half of `maxQueuedBytes`, capped at 64 KiB.
    public var lowWaterMark: Int { Swift.min(maxQueuedBytes / 2, 64 * 1024) }

    /// Queues `bytes` (no system call now); the loop writes every dirty channel once per turn,
    /// with one `writev` over its queued chunks. Ignored when the channel is closed or closing.
    public func write(_ bytes: OutboundBytes) {
        if !flags.isDisjoint(with: .ending) || bytes.count == 0 { return }
        if queuedBytes + bytes.count > maxQueuedBytes {
            loop.requestClose(self)
            return
        }
        if queuedBytes == 0 { oldestQueuedMs = loop.nowMs }
        chunks.append(bytes)
        queuedBytes += bytes.count
        if queuedBytes > lowWaterMark { flags.insert(.aboveLowWater) }
        if flags.isDisjoint(with: [.dirty, .writeArmed]) {
            flags.insert(.dirty)
            loop.dirty.append(self)
        }
    }

    /// Copies `bytes` into a new `OutboundBytes` and queues it.
    public func write(_ bytes: [UInt8]) {
        if !flags.isDisjoint(with: .ending) || bytes.isEmpty { return }
        write(OutboundBytes(bytes))
    }

    /// Asks the loop to write this channel's queue in this turn's flush even if
    /// `EventLoop.flushDelayMs` would hold it (for example a reply its peer is waiting for).
    /// Without a delay configured it changes nothing: every dirty channel is written each turn.
    public func flushPromptly() {
        if !flags.isDisjoint(with: .ending) || queuedBytes == 0 { return }
        flags.insert(.prompt)
        if flags.isDisjoint(with: [.dirty, .writeArmed]) {
            flags.insert(.dirty)
            loop.dirty.append(self)
        }
    }

    /// Marks the channel to be closed at the loop's next safe point, discarding queued output.
    public func close() {
        loop.requestClose(self)
    }

    /// Stops reading, writes what is queued, then closes. If the peer does not take the queued
    /// bytes within `EventLoop.lingerMs`, the channel is closed anyway.
    public func closeAfterFlush() {
        if !flags.isDisjoint(with: .ending) { return }
        flags.insert(.flushThenClose)
        loop.updateInterest(self)
        if queuedBytes == 0 {
            loop.requestClose(self)
        } else {
            loop.scheduleLinger(self)
        }
    }

    /// Stops delivering `channelRead` (the kernel buffer fills and TCP pushes back on the peer).
    public func pauseReading() {
        if flags.contains(.readPaused) { return }
        flags.insert(.readPaused)
        loop.updateInterest(self)
    }

    /// Undoes `pauseReading()`; bytes already waiting in the kernel are read on the next turn.
    public func resumeReading() {
        if !flags.contains(.readPaused) { return }
        flags.remove(.readPaused)
        loop.updateInterest(self)
    }

    /// True while `pauseReading()` is in effect.
    public var isReadingPaused: Bool { flags.contains(.readPaused) }

    /// Forgets `count` written bytes from the front of the queue.
    func consume(_ count: Int) {
        var left = count
        queuedBytes -= count
        while left > 0 {
            let remaining = chunks[chunkStart].count - headOffset
            if left >= remaining {
                left -= remaining
                chunkStart += 1
                headOffset = 0
            } else {
                headOffset += left
                left = 0
            }
        }
        if chunkStart == chunks.count {
            // Keep a small array for the next turn's writes; give back a big one so an idle
            // connection that once had a burst does not hold its peak.
            chunks.removeAll(keepingCapacity: chunks.capacity <= 16)
            chunkStart = 0
        } else if chunkStart >= 64 {
            chunks.removeFirst(chunkStart)
            chunkStart = 0
        }
    }

    /// Drops all queued output (on close).
    func discardQueue() {
        chunks = []
        chunkStart = 0
        headOffset = 0
        queuedBytes = 0
    }
}
