// ShardStore: one worker's durable store, a snapshot plus a checksummed journal with group commit.
import TagarelaSystem

/// A shard's store in one directory:
/// - `snapshot.json`: the engine's last snapshot and its generation G (see `SnapshotFile`);
///   absent until the first compaction, which means generation 0 and no snapshot;
/// - `journal-G.log`: every record committed since that snapshot (see `JournalFormat`);
/// - while a compaction's snapshot is being written (and after a crash during one),
///   `journal-(G+1).log` (and so on) beside it: the records committed since that compaction
///   began. Recovery replays G, G+1, ... in order (see `ShardStoreCompaction.swift`).
///
/// Records are opaque bytes; the shard engine decides what they mean. The store is used from
/// one thread (the worker's loop): `append` during a turn, `commit` once before the turn's
/// replies are released, `sync` from the interval timer, `beginCompaction`/`finishCompaction`
/// when the journal is large (the snapshot itself is written on a thread of its own).
public final class ShardStore {
    /// The store's directory.
    public let directory: String
    /// When committed records are forced to disk.
    public let policy: FsyncPolicy
    /// The snapshot's generation: the first journal a restart replays, `journal-<generation>.log`.
    public internal(set) var generation: UInt64
    /// The journal appended to, `journal-<journalGeneration>.log`: `generation` except while a
    /// compaction is in flight or after a crash interrupted one.
    public internal(set) var journalGeneration: UInt64
    /// Bytes committed to journals that no snapshot (written or being written) covers: what a
    /// restart would replay beyond the last compaction. The worker compacts past its limit.
    public internal(set) var journalBytes: Int
    /// The compaction begun and not yet finished (at most one).
    public internal(set) var compactionInFlight: Compaction?
    /// Side files holding corrupt journal records cut at recovery (`CorruptRecordFile`), by
    /// name: one per record with a bad checksum found at some startup, until an operator removes it.
    public internal(set) var corruptRecordFiles: [String] = []
    /// Bytes appended but not yet committed.
    public var pendingBytes: Int { pending.count }

    static let snapshotName = "snapshot.json"
    static let temporarySnapshotName = "snapshot.tmp"
    /// A pending buffer that grew past this after a burst is released, not kept for ever.
    static let retainedPendingCapacityMax = 1 << 20

    var journalFD: Int32
    private var pending: [UInt8] = []
    var unsynced = false
    var failed = false
    /// Records appended since the last commit, and how many the last commit wrote (the
    /// worker's records-per-commit histogram).
    private var pendingRecords = 0
    public private(set) var lastCommitRecords = 0
    /// Called after every fdatasync of the journal with its duration in nanoseconds (the worker's
    /// fdatasync histogram): group commits, the interval timer and a compaction's switch of
    /// journals all sync, and a caller that polled would miss those that fall between two polls.
    public var onSync: ((Int64) -> Void)?
    /// Syscall counters, so tests can check what each policy does (the worker's `/metrics` too).
    private(set) var writeCalls = 0
    public private(set) var syncCalls = 0

    static func journalName(_ generation: UInt64) -> String { "journal-\(generation).log" }

    func journalPath(_ generation: UInt64) -> String { directory + "/" + ShardStore.journalName(generation) }

    init(directory: String, policy: FsyncPolicy, generation: UInt64, journalGeneration: UInt64, journalFD: Int32,
         journalBytes: Int) {
        self.directory = directory
        self.policy = policy
        self.generation = generation
        self.journalGeneration = journalGeneration
        self.journalFD = journalFD
        self.journalBytes = journalBytes
    }

    deinit { close() }

    /// Opens (creating if needed) the store in `directory` and recovers it.
    ///
    /// Its folder and files are made private first (0700/0600, see `PrivateFiles.makePrivate`).
    /// Recovery: a leftover `snapshot.tmp` (a compaction that never renamed it) is deleted; the
    /// snapshot is loaded; journals older than its generation (already inside it) are deleted; the
    /// journals from its generation on must be consecutive (a gap is refused: it cannot happen
    /// under the compaction protocol) and are replayed in order, every one but the last whole
    /// (each was synced before the next was created, so damage there is refused too); the last
    /// one's torn tail is cut off with `ftruncate` and logged as a warning; a complete last record with a bad checksum is cut the same way, but its bytes are
    /// first kept in a side file (`CorruptRecordFile`) and it is logged as an error; damage
    /// before the tail throws `StoreError.corruptJournal` naming the file and offset.
    /// - Returns: the store, the snapshot bytes (nil before the first compaction) and the journal
    ///   records to apply on top of it, in order.
    public static func open(directory: String, policy: FsyncPolicy, log: (String) -> Void)
        throws(StoreError) -> (store: ShardStore, snapshot: [UInt8]?, records: [[UInt8]])
    {
        try onFile(directory, try FileTree.makeDirectories(directory))
        // A store an older version made 0755/0644 stops being readable by other accounts now.
        try PrivateFiles.makePrivate(directory, recursive: true, log: { log("store \(directory): " + $0) })
        let temporary = directory + "/" + temporarySnapshotName
        if FileTree.exists(temporary) {
            log("store \(directory): removing \(temporarySnapshotName) left by an interrupted compaction")
            try onFile(temporary, try FileIO.unlink(temporary))
        }
        var generation: UInt64 = 0
        var snapshot: [UInt8]?
        let snapshotFile = directory + "/" + snapshotName
        if let bytes = try onFile(snapshotFile, try FileIO.readFile(snapshotFile)) {
            let decoded = try SnapshotFile.decode(bytes, file: snapshotFile)
            generation = decoded.generation
            snapshot = decoded.body
        }
        var directoryChanged = false
        var sideFiles: [String] = []
        var journals: [UInt64] = []
        for name in try onFile(directory, try FileTree.list(directory)) {
            if CorruptRecordFile.isSideFile(name) { sideFiles.append(name) }
            guard let journalGeneration = parseJournalName(name) else { continue }
            if journalGeneration >= generation {
                journals.append(journalGeneration)
                continue
            }
            log("store \(directory): removing \(name), already covered by snapshot generation \(generation)")
            try onFile(directory + "/" + name, try FileIO.unlink(directory + "/" + name))
            directoryChanged = true
        }
        journals.sort()
        for (k, journalGeneration) in journals.enumerated() where journalGeneration != generation + UInt64(k) {
            throw .inconsistent(path: directory + "/" + journalName(journalGeneration),
                                reason: "journal is newer than the snapshot's generation \(generation) and "
                                    + "\(journalName(generation + UInt64(k))) is missing")
        }
        var records: [[UInt8]] = []
        var journalBytes = 0
        // Every journal but the last was complete and synced before the next one was created.
        for journalGeneration in journals.dropLast() {
            let path = directory + "/" + journalName(journalGeneration)
            let bytes = try onFile(path, try FileIO.readFile(path)) ?? []
            let scan = try JournalFormat.scan(bytes, file: path)
            guard scan.validEnd == bytes.count else {
                throw .corruptJournal(file: path, offset: scan.validEnd,
                                      reason: "\(scan.tailReason ?? "damaged record") in a journal that a newer one follows")
            }
            records += scan.records
            journalBytes += bytes.count
        }
        let current = journals.last ?? generation
        let last = try openLastJournal(directory: directory, generation: current, log: log)
        records += last.records
        journalBytes += last.bytes
        if let side = last.sideFile { sideFiles.append(side) }
        if directoryChanged || last.created {
            do { try onFile(directory, try FileIO.fsyncDirectory(directory)) } catch { FileDescriptor.close(last.fd); throw error }
        }
        let store = ShardStore(directory: directory, policy: policy, generation: generation, journalGeneration: current,
                               journalFD: last.fd, journalBytes: journalBytes)
        store.corruptRecordFiles = sideFiles
        return (store, snapshot, records)
    }

    /// Opens the journal appended to (creating it when absent) and reads its records: a torn
    /// tail is cut and logged as a warning; a complete last record with a bad checksum is cut
    /// too, its bytes kept in a side file and it is logged as an error (see `open`).
    private static func openLastJournal(directory: String, generation: UInt64, log: (String) -> Void)
        throws(StoreError) -> (fd: Int32, records: [[UInt8]], bytes: Int, sideFile: String?, created: Bool)
    {
        let journal = directory + "/" + journalName(generation)
        guard let bytes = try onFile(journal, try FileIO.readFile(journal)) else {
            // A new journal: the file and its directory entry (the caller's fsync) are made
            // durable before any record is acknowledged into it.
            let fd = try onFile(journal, try FileIO.open(journal, [.writeOnly, .append, .create]))
            do { try onFile(journal, try FileIO.fsync(fd)) } catch { FileDescriptor.close(fd); throw error }
            return (fd, [], 0, nil, true)
        }
        let scan = try JournalFormat.scan(bytes, file: journal)
        let records = scan.records
        let fd = try onFile(journal, try FileIO.open(journal, [.writeOnly, .append]))
        var sideFile: String?
        if scan.validEnd < bytes.count {
            let name = journalName(generation)
            let cut = bytes.count - scan.validEnd
            if scan.tail == .badChecksum {
                let side: String
                do {
                    side = try CorruptRecordFile.save(bytes[scan.validEnd...], directory: directory,
                                                      journal: name, offset: scan.validEnd)
                } catch {
                    FileDescriptor.close(fd)
                    throw error
                }
                sideFile = side
                log("store \(directory): error: \(name) has a complete record with a bad checksum at offset "
                    + "\(scan.validEnd); cut it and the \(cut) bytes from there to the end, kept in \(side); "
                    + "kept \(records.count) records")
            } else {
                log("store \(directory): warning: cut a torn tail of \(cut) bytes from \(name) "
                    + "at offset \(scan.validEnd) (\(scan.tailReason ?? "incomplete")); kept \(records.count) records")
            }
            do {
                // The cut is made durable before anything is appended after it.
                try onFile(journal, try FileIO.truncate(fd, length: scan.validEnd))
                try onFile(journal, try FileIO.fsync(fd))
            } catch {
                FileDescriptor.close(fd)
                throw error
            }
        }
        return (fd, records, scan.validEnd, sideFile, false)
    }

    /// Writes a fresh, closed store holding only `snapshot` (generation 0, empty journal), every
    /// file and directory entry fsynced: what resharding stages for each new shard.
    static func createFresh(directory: String, snapshot: [UInt8]) throws(StoreError) {
        let journal = directory + "/" + journalName(0)
        try onFile(directory, try FileTree.makeDirectories(directory))
        try onFile(directory, try FileTree.replaceDurably(directory + "/" + snapshotName,
                                                          with: SnapshotFile(generation: 0, body: snapshot).encoded(),
                                                          temporary: directory + "/" + temporarySnapshotName))
        let fd = try onFile(journal, try FileIO.open(journal, [.writeOnly, .create, .truncate]))
        defer { FileDescriptor.close(fd) }
        try onFile(journal, try FileIO.fsync(fd))
        try onFile(directory, try FileIO.fsyncDirectory(directory))
    }

    /// `journal-<n>.log` -> n.
    static func parseJournalName(_ name: String) -> UInt64? {
        guard name.hasPrefix("journal-"), name.hasSuffix(".log") else { return nil }
        let digits = name.dropFirst("journal-".count).dropLast(".log".count)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    /// Buffers one record (non-empty, at most 64 MiB) in memory; no syscall until `commit`.
    public func append(_ record: [UInt8]) {
        JournalFormat.append(record, to: &pending)
        pendingRecords += 1
    }

    /// Writes every buffered record with one `write`, then for `.always` one `fdatasync`, so
    /// a whole loop turn of records is durable before any of its replies is released.
    ///
    /// On failure the store becomes unusable (every later call throws `.unusable`): a failed
    /// write may have left part of a record, and after a failed fdatasync the kernel may have
    /// dropped the dirty pages while reporting later syncs as successful. The worker must exit
    /// without acknowledging the turn, and recovery decides from what is really on disk.
    public func commit() throws(StoreError) {
        guard !failed else { throw .unusable }
        if pending.isEmpty { return }
        let path = journalPath(journalGeneration)
        do throws(StoreError) {
            writeCalls += 1
            try onFile(path, try FileIO.writeAll(journalFD, pending))
        } catch {
            failed = true
            // Best effort: take a partial record back off so the file ends on a record boundary.
            try? FileIO.truncate(journalFD, length: journalBytes)
            throw error
        }
        journalBytes += pending.count
        lastCommitRecords = pendingRecords
        pendingRecords = 0
        if pending.capacity > ShardStore.retainedPendingCapacityMax {
            pending = []
        } else {
            pending.removeAll(keepingCapacity: true)
        }
        if policy == .always {
            try syncNow(path)
        } else {
            unsynced = true
        }
    }

    /// Forces committed records to disk if any were written since the last sync (for
    /// `.interval`, called by the worker's 1 s timer). A no-op under `.never`, and under
    /// `.always` (commit already synced).
    public func sync() throws(StoreError) {
        guard !failed else { throw .unusable }
        guard unsynced, policy != .never else { return }
        try syncNow(journalPath(journalGeneration))
    }

    func syncNow(_ path: String) throws(StoreError) {
        do throws(StoreError) {
            syncCalls += 1
            let startNs = Clock.monotonicNs()
            try onFile(path, try FileIO.fdatasync(journalFD))
            onSync?(Clock.monotonicNs() - startNs)
            unsynced = false
        } catch {
            failed = true
            throw error
        }
    }

    /// Closes the journal. Records appended but not committed are dropped (never acknowledged).
    /// Any further call throws `.unusable`.
    public func close() {
        if journalFD >= 0 {
            FileDescriptor.close(journalFD)
            journalFD = -1
        }
        failed = true
        pending = []
    }
}
