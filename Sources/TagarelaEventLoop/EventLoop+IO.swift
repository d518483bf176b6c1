// EventLoop+IO: the loop's I/O paths: reading into the shared buffer, accepting, flushing queues with writev, closing.
import Glibc
import TagarelaSystem

extension EventLoop {
    // MARK: - Input

    /// Handles one readiness event of a channel.
    func dispatch(token: UInt64, events: Readiness) {
        let slot = Int(token & 0xffff_ffff)
        guard slot < channels.count, let channel = channels[slot], self.token(for: channel) == token else {
            return  // a stale event for a descriptor closed earlier
        }
        if events.contains(.writable) && channel.flags.contains(.writeArmed) {
            markDirty(channel)
        }
        if events.isDisjoint(with: [.readable, .error, .hangup]) { return }
        if channel.flags.contains(.closing) || channel.flags.contains(.closed) { return }
        if !channel.flags.isDisjoint(with: [.readPaused, .flushThenClose]) {
            // Not reading, yet the socket reports an error or a hang-up: a level-triggered poller
            // would report it every turn, and nothing more can be done with this peer.
            if !events.isDisjoint(with: [.error, .hangup]) { requestClose(channel) }
            return
        }
        readChannel(channel)
    }

    /// Up to `maxReadsPerTurn` reads into the shared buffer, each handed to the handler.
    private func readChannel(_ channel: Channel) {
        for _ in 0..<EventLoop.maxReadsPerTurn {
            let result: IOResult
            do {
                result = try FileDescriptor.read(channel.fd, into: readBuffer)
            } catch {
                requestClose(channel)  // ECONNRESET and friends: the connection is gone
                return
            }
            switch result {
            case .bytes(let count):
                channel.handler?.channelRead(channel, UnsafeMutableRawBufferPointer(rebasing: readBuffer[0..<count]))
                if !channel.flags.isDisjoint(with: [.closed, .closing, .flushThenClose, .readPaused]) { return }
                // A short read means the kernel buffer is empty: skip the read that would say EAGAIN.
                if count < readBuffer.count { return }
            case .wouldBlock:
                return
            case .eof:
                // The peer finished sending. Replies already queued still go out (a client may
                // half-close after its request); then the channel closes.
                if channel.queuedBytes == 0 { requestClose(channel) } else { channel.closeAfterFlush() }
                return
            }
        }
    }

    /// Accepts up to `maxAcceptsPerTurn` connections from a listener.
    func acceptConnections(listenerFD: Int32) {
        guard let listener = listeners[listenerFD], !listener.resting else { return }
        for _ in 0..<EventLoop.maxAcceptsPerTurn {
            do {
                guard let (fd, peer) = try Socket.accept(listener.fd) else { return }
                listener.onAccept(fd, peer)
            } catch let error as SystemError {
                if error.errno == EMFILE || error.errno == ENFILE || error.errno == ENOBUFS || error.errno == ENOMEM {
                    restListener(listener)
                }
                return
            } catch {
                return
            }
        }
    }

    /// Out of descriptors or memory: stop watching the listener for a moment, since the pending
    /// connection stays readable and a level-triggered poller would spin on it.
    private func restListener(_ listener: Listener) {
        listener.resting = true
        let token = EventLoop.listenerTag | UInt64(UInt32(bitPattern: listener.fd))
        try? poller.modify(listener.fd, events: [], token: token)
        schedule(afterMs: EventLoop.acceptBackoffMs) { [weak self, weak listener] in
            guard let self, let listener, self.listeners[listener.fd] === listener else { return }
            listener.resting = false
            try? self.poller.modify(listener.fd, events: .readable, token: token)
        }
    }

    // MARK: - Output

    @inline(__always)
    func markDirty(_ channel: Channel) {
        if channel.flags.contains(.dirty) { return }
        channel.flags.insert(.dirty)
        dirty.append(channel)
    }

    /// The flush phase: one writev per dirty channel (more only past IOV_MAX chunks). Channels
    /// made dirty during the phase (by a `channelWritable` callback) wait for the next turn,
    /// which then polls with a zero timeout: the phase is bounded by the channels dirty at its start.
    /// With `flushDelayMs` set, `decideHolding` first releases what must go now (held channels
    /// that are due; under `.whenIdle`, all of them when no more input is ready), and a dirty
    /// channel that `shouldHold` is put on the held list instead of written.
    func flushDirty() {
        decideHolding()
        let end = dirty.count
        for index in 0..<end {
            let channel = dirty[index]
            channel.flags.remove(.dirty)
            if channel.flags.contains(.closed) || channel.flags.contains(.closing) { continue }
            if shouldHold(channel) {
                hold(channel)
                continue
            }
            channel.flags.remove(.prompt)
            flush(channel)
        }
        if dirty.count == end {
            dirty.removeAll(keepingCapacity: dirty.capacity <= 4096)
        } else {
            dirty.removeFirst(end)
        }
        loopBusy = false
    }

    /// Writes as much of the channel's queue as the socket takes.
    private func flush(_ channel: Channel) {
        while channel.queuedBytes > 0 {
            var iovCount = 0
            var total = 0
            var index = channel.chunkStart
            var offset = channel.headOffset
            while index < channel.chunks.count && iovCount < maxIOVectors {
                let chunk = channel.chunks[index]
                iovecs[iovCount] = iovec(iov_base: chunk.base + offset, iov_len: chunk.count - offset)
                total += chunk.count - offset
                iovCount += 1
                index += 1
                offset = 0
            }
            let result: IOResult
            writevCount &+= 1
            do {
                result = try FileDescriptor.writev(channel.fd, iovecs, count: iovCount)
            } catch {
                requestClose(channel)  // EPIPE, ECONNRESET: nobody is reading any more
                return
            }
            guard case .bytes(let written) = result else {
                armWritable(channel)
                return
            }
            channel.consume(written)
            channel.lastFlushMs = nowMs
            if written < total {
                // The socket buffer is full; the poller says when there is room again.
                armWritable(channel)
                break
            }
        }
        if channel.queuedBytes == 0 {
            if channel.flags.contains(.writeArmed) {
                channel.flags.remove(.writeArmed)
                updateInterest(channel)
            }
            if channel.flags.contains(.flushThenClose) { requestClose(channel) }
        }
        if channel.flags.contains(.aboveLowWater) && channel.queuedBytes <= channel.lowWaterMark {
            channel.flags.remove(.aboveLowWater)
            if !channel.isClosed { channel.handler?.channelWritable(channel) }
        }
    }

    private func armWritable(_ channel: Channel) {
        if channel.flags.contains(.writeArmed) { return }
        channel.flags.insert(.writeArmed)
        updateInterest(channel)
    }

    /// Applies the channel's wanted interest to the poller if it changed.
    func updateInterest(_ channel: Channel) {
        if !channel.flags.isDisjoint(with: [.closed, .closing]) { return }
        var wanted: Channel.Flags = []
        var events: Readiness = []
        if channel.flags.isDisjoint(with: [.readPaused, .flushThenClose]) {
            wanted.insert(.interestReadable)
            events.insert(.readable)
        }
        if channel.flags.contains(.writeArmed) {
            wanted.insert(.interestWritable)
            events.insert(.writable)
        }
        if wanted == channel.appliedInterest { return }
        do {
            try poller.modify(channel.fd, events: events, token: token(for: channel))
            channel.appliedInterest = wanted
        } catch {
            requestClose(channel)
        }
    }

    // MARK: - Closing

    /// Marks the channel for closing at the next safe point; its queued output is discarded.
    func requestClose(_ channel: Channel) {
        if !channel.flags.isDisjoint(with: [.closed, .closing]) { return }
        channel.flags.insert(.closing)
        closing.append(channel)
    }

    /// `closeAfterFlush` with bytes still queued: give the peer `lingerMs` to take them.
    func scheduleLinger(_ channel: Channel) {
        markDirtyIfWritable(channel)
        schedule(afterMs: EventLoop.lingerMs) { [weak self, weak channel] in
            guard let self, let channel else { return }
            self.requestClose(channel)
        }
    }

    private func markDirtyIfWritable(_ channel: Channel) {
        if !channel.flags.contains(.writeArmed) { markDirty(channel) }
    }

    /// The safe point: closes every marked channel. A `channelClosed` callback may mark more;
    /// they are closed in the same pass.
    func closePending() {
        var index = 0
        while index < closing.count {
            let channel = closing[index]
            index += 1
            finishClose(channel)
        }
        closing.removeAll(keepingCapacity: closing.capacity <= 1024)
    }

    private func finishClose(_ channel: Channel) {
        if channel.flags.contains(.closed) { return }
        channel.flags.insert(.closed)
        try? poller.remove(channel.fd)
        FileDescriptor.close(channel.fd)
        let slot = Int(channel.fd)
        if slot < channels.count && channels[slot] === channel {
            channels[slot] = nil
            channelCount -= 1
        }
        channel.discardQueue()
        let handler = channel.handler
        // Dropping the handler breaks the usual handler <-> channel reference cycle.
        channel.handler = nil
        handler?.channelClosed(channel)
    }
}
