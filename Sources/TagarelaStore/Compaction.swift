// Compaction: one compaction in flight, whose snapshot is written off the loop on a thread of its own.
import TagarelaSystem

/// A compaction between `ShardStore.beginCompaction` and `ShardStore.finishCompaction` (both on
/// the loop). Its snapshot steps (4-6 in `ShardStoreCompaction.swift`) touch only
/// `snapshot.tmp` and `snapshot.json`, never the store's journals or fields, so they may run on
/// any thread while the loop keeps appending.
///
/// `@unchecked Sendable` (it crosses to the snapshot thread): `directory`, `generation` and
/// `covers` never change; `started` is the loop's only; `isWritten` is written by the snapshot
/// thread before it opens `ended` and read by the loop only after that hand-off (see there).
public final class Compaction: @unchecked Sendable {
    /// The new snapshot's generation, also the journal the loop appends to meanwhile.
    public let generation: UInt64
    /// The journals the new snapshot makes redundant, deleted when it finishes.
    let covers: Range<UInt64>
    private let directory: String
    /// Set by the writing thread; read on the loop only after the hand-off that tells it the
    /// write ended (`EventLoop.execute`, `join`), which orders the two.
    public private(set) var isWritten = false
    /// Whether `writeInBackground` started a thread (read and written on the loop only). The
    /// thread is not kept: it holds the engine's image, which must go when the thread ends.
    private var started = false
    private let ended = Latch()

    init(directory: String, generation: UInt64, covers: Range<UInt64>) {
        self.directory = directory
        self.generation = generation
        self.covers = covers
    }

    /// Steps 4-6: writes `body` as snapshot `generation`, durably, on the calling thread.
    public func writeSnapshot(_ body: [UInt8]) throws(StoreError) {
        _ = try writeSnapshot(body, crash: .never)
    }

    /// `writeSnapshot` with a test hook; false when `crash` stopped it (the caller then
    /// abandons the store like a crashed process).
    func writeSnapshot(_ body: [UInt8], crash: CrashPoint) throws(StoreError) -> Bool {
        let temporary = directory + "/" + ShardStore.temporarySnapshotName
        let file = SnapshotFile(generation: generation, body: body)

        // Step 4: the temporary snapshot, durable on its own before it becomes visible.
        let fd = try onFile(temporary, try FileIO.open(temporary, [.writeOnly, .create, .truncate]))
        do throws(StoreError) {
            try onFile(temporary, try FileIO.writeAll(fd, file.header))
            try onFile(temporary, try FileIO.writeAll(fd, body))
            try onFile(temporary, try FileIO.writeAll(fd, SnapshotFile.trailer))
            try onFile(temporary, try FileIO.fsync(fd))
        } catch {
            FileDescriptor.close(fd)
            throw error
        }
        FileDescriptor.close(fd)
        if crash.reached("wrote snapshot.tmp") { return false }

        // Step 5: the atomic switch of generations.
        try onFile(temporary, try FileIO.rename(from: temporary, to: directory + "/" + ShardStore.snapshotName))
        if crash.reached("renamed to snapshot.json") { return false }

        // Step 6.
        try onFile(directory, try FileIO.fsyncDirectory(directory))
        if crash.reached("fsynced directory") { return false }
        isWritten = true
        return true
    }

    /// Runs `serialise` and `writeSnapshot` on a new thread (not a shared pool: it takes as long
    /// as the shard is large) and passes the outcome to `done` on that thread; the caller hops
    /// back to its loop there (or on the calling thread, as a failure, when no thread can be
    /// created). Called at most once per compaction.
    public func writeInBackground(serialise: @escaping @Sendable () -> [UInt8],
                                  done: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        precondition(!started, "a compaction's snapshot is written once")
        started = true
        do {
            try BackgroundThread.start(name: "tagarela.snap") { [self] in
                let outcome: Result<Void, StoreError>
                do throws(StoreError) {
                    try writeSnapshot(serialise())
                    outcome = .success(())
                } catch {
                    outcome = .failure(error)
                }
                ended.open()
                done(outcome)
            }
        } catch {
            ended.open()
            done(.failure(StoreError(error, file: directory)))
        }
    }

    /// Waits until the thread of `writeInBackground` has written (or failed to write) the
    /// snapshot: a worker that stops mid-compaction lets the write end before it exits.
    public func join() {
        guard started else { return }
        ended.wait()  // later joins return at once too
    }
}
