// EventLoop+Coalescing: output coalescing: which dirty channels the flush phase holds for a later turn, and when held output must go.
import TagarelaSystem

extension EventLoop {
    /// How `flushDelayMs` is used.
    public enum FlushPolicy: String, Sendable {
        /// Hold output only while the loop is busy: at the flush phase the loop asks the poller,
        /// without waiting, whether more input is ready. If nothing is, every queue is written in
        /// this turn (a lone message pays no delay); if something is, small queues wait for the
        /// turn that handles it, whose output joins them in one write, and so on while input keeps
        /// coming, but never past `flushDelayMs` from their oldest byte. The shape of TCP
        /// autocorking: the batch grows only while there is work that would add to it.
        case whenIdle = "idle"
        /// Hold every small queue until its oldest byte is `flushDelayMs` old, busy or not (the
        /// behaviour before issue 13: fewer writes at every load, the full delay at light load).
        case fixedDelay = "fixed"
    }

    /// Runs at the start of the flush phase: under `.whenIdle`, peeks at the poller once (when
    /// anything is dirty or held) and, when no input is ready, releases every held channel that
    /// `flushSpacingMs` does not pace; in either policy, held channels that are due join the
    /// dirty list. (Pacing: `flushSpacingMs` and `pacedHoldMs` hold paced channels on an idle
    /// loop too.)
    func decideHolding() {
        guard flushDelayMs > 0, !stopping else {
            if !held.isEmpty { releaseAllHeld() }
            return
        }
        if flushPolicy == .whenIdle && (!dirty.isEmpty || !held.isEmpty) {
            loopBusy = moreInputReady()
            if !loopBusy && !held.isEmpty {
                if flushSpacingMs == 0 && pacedHoldMs == 0 { releaseAllHeld() } else { releaseDueHeld(idle: true) }
                return
            }
        }
        if !held.isEmpty && nowMs >= heldEarliestDueMs { releaseDueHeld(idle: false) }
    }

    /// One poller wait with a zero timeout: are more events ready right now? Readiness is
    /// level-triggered, so the events it reports are not lost: the next turn dispatches them
    /// (`peekedEvents`) instead of waiting again, so a busy loop pays no extra system call, and
    /// an idle one pays one zero-timeout wait per turn that produced output.
    private func moreInputReady() -> Bool {
        let count = (try? poller.wait(timeoutMs: 0)) ?? 0
        guard count > 0 else { return false }
        peekedEvents = count
        return true
    }

    /// True when `channel`'s output may wait for a later turn: a delay is configured, the loop is
    /// busy (always, under `.fixedDelay`) or pacing holds the channel (`flushSpacingMs`,
    /// `pacedHoldMs`), the queue is small, its oldest byte is younger than the delay, and nobody asked for
    /// it to go now (`flushPromptly`, a close after the flush, the loop stopping).
    @inline(__always)
    func shouldHold(_ channel: Channel) -> Bool {
        flushDelayMs > 0
            && (loopBusy || flushPolicy == .fixedDelay || isPaced(channel))
            && channel.queuedBytes < flushHoldBytesMax
            && nowMs - channel.oldestQueuedMs < flushDelayMs
            && channel.flags.isDisjoint(with: [.prompt, .flushThenClose])
            && !stopping
    }

    /// Pacing holds this channel now: it opted in and was written less than `flushSpacingMs`
    /// ago, or its oldest byte is younger than `pacedHoldMs`.
    @inline(__always)
    private func isPaced(_ channel: Channel) -> Bool {
        channel.pacedFlushes && nowMs < pacedUntilMs(channel)
    }

    /// When pacing stops holding a paced channel (`Int64.min` when no pacing is set).
    @inline(__always)
    private func pacedUntilMs(_ channel: Channel) -> Int64 {
        var until = Int64.min
        if flushSpacingMs > 0 { until = channel.lastFlushMs + flushSpacingMs }
        if pacedHoldMs > 0 { until = Swift.max(until, channel.oldestQueuedMs + pacedHoldMs) }
        return until
    }

    /// When a held channel must be written even if the loop stays busy: `flushDelayMs` after its
    /// oldest byte, or, when pacing is what holds it, once the pacing has passed.
    @inline(__always)
    private func dueMs(_ channel: Channel) -> Int64 {
        let bound = channel.oldestQueuedMs + flushDelayMs
        guard flushPolicy == .whenIdle, channel.pacedFlushes, flushSpacingMs > 0 || pacedHoldMs > 0 else { return bound }
        return Swift.min(bound, pacedUntilMs(channel))
    }

    /// Puts `channel` on the held list (once) and keeps the earliest due time right.
    func hold(_ channel: Channel) {
        let dueMs = dueMs(channel)
        if dueMs < heldEarliestDueMs { heldEarliestDueMs = dueMs }
        holdCount &+= 1
        if channel.flags.contains(.held) { return }
        channel.flags.insert(.held)
        held.append(channel)
    }

    /// Moves every held channel that must go now to the dirty list: past `flushDelayMs`, or, on
    /// an `idle` loop, no longer paced. Drops entries that no longer hold
    /// anything (flushed early when their queue crossed `flushHoldBytesMax`, waiting for
    /// EPOLLOUT, or closed); recomputes the earliest due time of the rest.
    func releaseDueHeld(idle: Bool) {
        var kept = 0
        var earliest = Int64.max
        for index in 0..<held.count {
            let channel = held[index]
            if channel.queuedBytes == 0 || !channel.flags.isDisjoint(with: [.closed, .closing, .writeArmed]) {
                channel.flags.remove(.held)
                continue
            }
            let dueMs = dueMs(channel)
            if nowMs >= channel.oldestQueuedMs + flushDelayMs || (idle && !isPaced(channel)) || (!idle && nowMs >= dueMs) {
                channel.flags.remove(.held)
                markDirty(channel)
            } else {
                held[kept] = channel
                kept += 1
                earliest = Swift.min(earliest, dueMs)
            }
        }
        held.removeLast(held.count - kept)
        heldEarliestDueMs = earliest
    }

    /// The loop is idle or stopping: every held channel is written now.
    func releaseAllHeld() {
        for channel in held {
            channel.flags.remove(.held)
            if channel.queuedBytes > 0 && channel.flags.isDisjoint(with: [.closed, .closing, .writeArmed]) {
                markDirty(channel)
            }
        }
        held.removeAll(keepingCapacity: held.capacity <= 4096)
        heldEarliestDueMs = .max
    }
}
