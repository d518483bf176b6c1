// ShardStoreCompaction: replaces the journals with a new snapshot written off the loop, in steps that survive a crash between any two.
import TagarelaSystem

extension ShardStore {
    /// Starts a compaction at this point of the record stream. The caller takes its state's
    /// image right after (same turn, nothing applied in between), writes it with
    /// `Compaction.writeSnapshot` (on any thread) while the loop keeps appending, and then calls
    /// `finishCompaction` on the loop. Records appended but not committed go to the old journal.
    ///
    /// Steps, for a store whose snapshot has generation G and whose journals are G...J (J = G
    /// but after a crash during an earlier compaction), making snapshot J+1:
    /// 1. (loop) commit and fdatasync journal-J, whatever the fsync policy;
    /// 2. (loop) create `journal-(J+1).log`, fsync it and the directory;
    /// 3. (loop) switch appends to it: from here the loop serves on, its records going to J+1;
    /// 4. (any thread) write `snapshot.tmp` (generation J+1) and fsync it;
    /// 5. (any thread) rename it to `snapshot.json`              <- the commit point;
    /// 6. (any thread) fsync the directory, making the rename durable;
    /// 7. (loop) delete journals G...J.
    /// Steps 1-3 cost the loop at most three syncs, whatever the shard's size; 4-6 (the shard's
    /// size in bytes) run beside it.
    ///
    /// Why every crash point loads with nothing lost (recovery replays the snapshot's journal
    /// and every consecutive newer one, in order):
    /// - before 2: nothing changed but syncs;
    /// - after 2, before 5 is durable: snapshot G and journals G...J are untouched; journal-(J+1)
    ///   holds exactly the records after the image (the switch happened at the image, step 3),
    ///   so replaying G...J then J+1 over snapshot G gives every record once, in order; open
    ///   deletes a stray snapshot.tmp;
    /// - after 5 is durable: snapshot J+1 contains everything journals G...J hold (the image
    ///   was taken after applying them), so open deletes those and replays journal-(J+1);
    /// - journal-J is complete and synced before journal-(J+1) exists (step 1), so a journal
    ///   that a newer one follows never has a torn tail: open refuses damage there, and a gap
    ///   in the numbering, as what the protocol cannot produce;
    /// - no record is appended to journal-(J+1) before it and its directory entry are durable
    ///   (step 2), so an acknowledged record cannot vanish with a lost directory entry.
    /// One compaction at a time: while one is in flight the journal may grow past the worker's
    /// threshold by what arrives during one snapshot write; the next compaction starts once it
    /// finishes. A crash during one leaves J+1 beside G; the next compaction covers both.
    /// If a step fails, the store becomes unusable (every later call throws) and the worker
    /// exits: the files on disk are in one of the states above, so a restart recovers them.
    public func beginCompaction() throws(StoreError) -> Compaction {
        // CrashPoint.never never stops, so there is always a compaction.
        try beginCompaction(crash: .never)!
    }

    /// `beginCompaction` with a test hook; nil when `crash` stopped it (the store is then
    /// abandoned like a crashed process: it must not be used again).
    func beginCompaction(crash: CrashPoint) throws(StoreError) -> Compaction? {
        precondition(compactionInFlight == nil, "one compaction at a time")
        // Step 1.
        try commit()
        if unsynced { try syncNow(journalPath(journalGeneration)) }

        // Step 2: O_EXCL because a journal of the next generation cannot exist yet (see above).
        let next = journalGeneration + 1
        let newFD: Int32
        do throws(StoreError) {
            newFD = try onFile(journalPath(next), try FileIO.open(journalPath(next), [.writeOnly, .append, .create, .exclusive]))
            do throws(StoreError) {
                try onFile(journalPath(next), try FileIO.fsync(newFD))
                try onFile(directory, try FileIO.fsyncDirectory(directory))
            } catch {
                FileDescriptor.close(newFD)
                throw error
            }
        } catch {
            failed = true
            throw error
        }
        if crash.reached("created \(ShardStore.journalName(next))") {
            FileDescriptor.close(newFD)
            close()
            return nil
        }

        // Step 3.
        FileDescriptor.close(journalFD)
        journalFD = newFD
        journalGeneration = next
        journalBytes = 0
        let compaction = Compaction(directory: directory, generation: next, covers: generation..<next)
        compactionInFlight = compaction
        return compaction
    }

    /// Step 7: once `compaction.writeSnapshot` succeeded, the journals it covers are deleted.
    public func finishCompaction(_ compaction: Compaction) throws(StoreError) {
        _ = try finishCompaction(compaction, crash: .never)
    }

    /// `finishCompaction` with a test hook; false when `crash` stopped it.
    func finishCompaction(_ compaction: Compaction, crash: CrashPoint) throws(StoreError) -> Bool {
        precondition(compaction === compactionInFlight && compaction.isWritten, "finishing a compaction not written")
        guard !failed else { throw .unusable }
        compactionInFlight = nil
        generation = compaction.generation
        // Not fsynced; if an unlink is lost, open deletes the stale journal again.
        for covered in compaction.covers {
            do throws(StoreError) {
                try onFile(journalPath(covered), try FileIO.unlink(journalPath(covered)))
            } catch {
                failed = true
                throw error
            }
            if crash.reached("removed \(ShardStore.journalName(covered))") {
                close()
                return false
            }
        }
        return true
    }

    /// The whole compaction on the calling thread, for `snapshot` taken after every record
    /// appended so far: what the worker did on its loop before compaction moved off it, kept
    /// for tests and for the benchmark's comparison (`tagarela bench compaction --mode sync`).
    public func compact(snapshot: [UInt8]) throws(StoreError) {
        let compaction = try beginCompaction()
        do throws(StoreError) {
            try compaction.writeSnapshot(snapshot)
        } catch {
            failed = true
            throw error
        }
        try finishCompaction(compaction)
    }
}
