// BackgroundThread: a detached thread of its own for long work beside a loop, and a latch to wait for its end.
import Glibc

/// Starts work on a new detached POSIX thread. Not a shared pool: work such as a snapshot write
/// takes as long as its data is large and must not hold a pool's thread. Nothing keeps the
/// thread: `body` and what it captured are released when it returns.
public enum BackgroundThread {
    private final class Start: Sendable {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Runs `body` on a new thread named `name` (the kernel keeps its first 15 bytes).
    /// Throws when the thread cannot be created (`EAGAIN`: the process's thread limit).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let start = Unmanaged.passRetained(Start(name: name, body: body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
            _ = LinuxCalls.pthreadSetName(pthread_self(), String(decoding: start.name.utf8.prefix(15), as: UTF8.self))
            start.body()
            return nil
        }, start.toOpaque())
        if result != 0 {
            start.release()
            throw SystemError(op: "pthread_create", errno: result, path: nil)
        }
    }
}

/// A one-way gate between threads: `open` once, and every `wait` (before or after) returns once
/// it is open. `@unchecked Sendable`: its only state is a POSIX semaphore, which is thread-safe;
/// the pointer to it is written only by `init` and `deinit`.
public final class Latch: @unchecked Sendable {
    private let semaphore: UnsafeMutablePointer<sem_t>

    public init() {
        semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
        let result = sem_init(semaphore, 0, 0)
        precondition(result == 0, "sem_init failed: \(Glibc.errno)")
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    /// Opens the gate, releasing every waiter. Called at most once.
    public func open() {
        sem_post(semaphore)
    }

    /// Blocks until the gate is open.
    public func wait() {
        while sem_wait(semaphore) != 0 && Glibc.errno == EINTR {}
        sem_post(semaphore)  // the next waiter passes too
    }
}
