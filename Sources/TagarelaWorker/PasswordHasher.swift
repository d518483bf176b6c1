// PasswordHasher: runs PBKDF2 on threads of its own behind a bounded queue and hands each result back to the worker's loop.
import Foundation
import TagarelaCrypto
import TagarelaEventLoop

/// A fixed pool of threads for the slow password hash. The worker's event loop must never run
/// PBKDF2 itself: one login at 100,000 iterations costs tens of milliseconds, and every other
/// user's messages on this shard would wait behind it.
///
/// The threads are the pool's own, not Dispatch's: a job waiting for a thread is an entry in
/// a queue, not a parked thread, so a backlog of logins cannot take the Dispatch pool the stop
/// signals (SIGTERM, SIGINT) are delivered on. At most `jobsMax` jobs are in flight (queued,
/// hashing, or with their result on its way to the loop); `derive` refuses past that and the
/// worker answers `rate_limited`.
final class PasswordHasher {
    /// One derivation: its inputs and what to call on the loop with the key.
    private struct Job {
        let work: () -> [UInt8]
        let done: ([UInt8]) -> Void
    }

    /// What the pool's threads and the loop share, under `condition`'s lock.
    private final class Shared {
        let condition = NSCondition()
        /// Waiting jobs, oldest first (at most `jobsMax`, so taking the first is cheap beside a hash).
        var queue: [Job] = []
        var stopping = false
        var liveThreads = 0
        /// Strong: a thread finishing a hash hands the key to the loop, and `stop` waits for
        /// every thread to be gone before the loop may be released.
        let loop: EventLoop

        init(loop: EventLoop) { self.loop = loop }
    }

    /// Jobs allowed in flight (the worker's `hashJobsMax`).
    let jobsMax: Int
    /// Jobs accepted whose result has not yet been handed back on the loop (loop thread only).
    private(set) var inFlight = 0
    private let shared: Shared

    /// Starts `threads` hashing threads (at least one) that take jobs from a queue holding at
    /// most `jobsMax` (at least one).
    init(threads: Int, jobsMax: Int, loop: EventLoop) {
        let threads = max(1, threads)
        self.jobsMax = max(1, jobsMax)
        shared = Shared(loop: loop)
        shared.liveThreads = threads
        for index in 0..<threads {
            let thread = Thread { [shared] in PasswordHasher.serve(shared) }
            thread.name = "tagarela-pbkdf2-\(index)"
            thread.start()
        }
    }

    deinit { stop() }

    /// Derives the key on a hashing thread, then calls `done` with it on the loop's thread.
    /// Returns false, queueing nothing, when `jobsMax` jobs are already in flight.
    /// Call on the loop's thread.
    func derive(password: [UInt8], salt: [UInt8], iterations: Int, done: @escaping ([UInt8]) -> Void) -> Bool {
        submit({ PBKDF2.deriveKey(password: password, salt: salt, iterations: iterations, length: 32) }, done: done)
    }

    /// `derive` for any slow computation (tests measure the pool with it).
    func submit(_ work: @escaping () -> [UInt8], done: @escaping ([UInt8]) -> Void) -> Bool {
        guard inFlight < jobsMax else { return false }
        inFlight += 1
        let job = Job(work: work, done: { [weak self] key in
            self?.inFlight -= 1
            done(key)
        })
        shared.condition.lock()
        defer { shared.condition.unlock() }
        guard !shared.stopping else {
            inFlight -= 1
            return false
        }
        shared.queue.append(job)
        shared.condition.signal()
        return true
    }

    /// Stops the pool: queued jobs are dropped (their `done` is never called), a hash under way
    /// finishes, and the call returns once every hashing thread has exited, so nothing touches
    /// the loop afterwards. Idempotent; deinit calls it.
    func stop() {
        shared.condition.lock()
        shared.stopping = true
        shared.queue.removeAll()
        shared.condition.broadcast()
        while shared.liveThreads > 0 { shared.condition.wait() }
        shared.condition.unlock()
    }

    /// Jobs waiting for a thread.
    var queuedJobs: Int {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        return shared.queue.count
    }

    /// Hashing threads still running (0 once `stop` returned).
    var liveThreads: Int {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        return shared.liveThreads
    }

    /// A hashing thread: takes jobs in order until the pool stops.
    private static func serve(_ shared: Shared) {
        while true {
            shared.condition.lock()
            while shared.queue.isEmpty && !shared.stopping { shared.condition.wait() }
            if shared.stopping {
                shared.liveThreads -= 1
                shared.condition.broadcast()
                shared.condition.unlock()
                return
            }
            let job = shared.queue.removeFirst()
            shared.condition.unlock()
            let key = job.work()
            shared.loop.execute { job.done(key) }
        }
    }
}
