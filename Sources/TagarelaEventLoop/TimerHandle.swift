// TimerHandle: a scheduled callback and the min-heap of them that an event loop fires in deadline order.

/// A scheduled callback; `cancel()` prevents it from running. Use on the loop's thread.
public final class TimerHandle {
    let deadlineMs: Int64
    let sequence: UInt64
    var callback: (() -> Void)?
    weak var loop: EventLoop?

    init(deadlineMs: Int64, sequence: UInt64, callback: @escaping () -> Void, loop: EventLoop) {
        self.deadlineMs = deadlineMs
        self.sequence = sequence
        self.callback = callback
        self.loop = loop
    }

    /// Cancels the timer if it has not fired; releases its callback (and what it captured) now.
    public func cancel() {
        guard callback != nil else { return }
        callback = nil
        loop?.timers.noteCancelled()
    }

    /// True until the timer fires or is cancelled.
    public var isPending: Bool { callback != nil }
}

/// Timers ordered by (deadline, sequence), so equal deadlines fire in scheduling order.
/// Cancelled timers stay in the heap until they reach the top (O(1) cancel), unless they
/// come to outnumber the live ones, when the heap is rebuilt without them.
struct TimerQueue {
    private var heap: [TimerHandle] = []
    private var cancelled = 0
    private(set) var nextSequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }

    mutating func makeSequence() -> UInt64 {
        nextSequence += 1
        return nextSequence
    }

    mutating func push(_ timer: TimerHandle) {
        heap.append(timer)
        siftUp(heap.count - 1)
    }

    mutating func noteCancelled() {
        cancelled += 1
        if cancelled > 1024 && cancelled * 2 > heap.count { rebuild() }
    }

    /// The earliest live deadline, discarding cancelled timers at the top.
    mutating func earliestDeadline() -> Int64? {
        while let top = heap.first {
            if top.callback != nil { return top.deadlineMs }
            _ = popTop()
            cancelled -= 1
        }
        return nil
    }

    /// Pops the next timer due at `nowMs` that was scheduled before `sequenceLimit`, with its
    /// callback; timers scheduled by a firing callback wait for the next turn.
    mutating func popDue(nowMs: Int64, sequenceLimit: UInt64) -> (() -> Void)? {
        while let top = heap.first, top.deadlineMs <= nowMs, top.sequence <= sequenceLimit {
            _ = popTop()
            if let callback = top.callback {
                top.callback = nil
                return callback
            }
            cancelled -= 1
        }
        return nil
    }

    mutating func removeAll() {
        for timer in heap { timer.callback = nil }
        heap = []
        cancelled = 0
    }

    private mutating func rebuild() {
        heap.removeAll { $0.callback == nil }
        cancelled = 0
        if heap.count > 1 {
            for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
        }
    }

    private mutating func popTop() -> TimerHandle {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return top
    }

    @inline(__always)
    private func less(_ a: TimerHandle, _ b: TimerHandle) -> Bool {
        a.deadlineMs != b.deadlineMs ? a.deadlineMs < b.deadlineMs : a.sequence < b.sequence
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            if !less(heap[child], heap[parent]) { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            if left >= heap.count { return }
            var smallest = left
            if left + 1 < heap.count && less(heap[left + 1], heap[left]) { smallest = left + 1 }
            if !less(heap[smallest], heap[parent]) { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
