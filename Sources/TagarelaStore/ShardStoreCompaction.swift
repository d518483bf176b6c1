// ShardStoreCompaction: replaces the journal with a new snapshot, in steps that survive a crash between any two.
import TagarelaSystem

extension ShardStore {
    /// Makes `snapshot` (the engine's state including every record appended so far) the new
    /// base and starts an empty journal. Records appended but not yet committed are committed
    /// to the old journal first.
    ///
    /// Steps, with generation g -> g+1 (the generation in snapshot.json decides which journal
    /// is replayed, so the switch happens at exactly one atomic point, the rename):
    /// 1. write `snapshot.tmp` (generation g+1) and fsync it;
    /// 2. rename it to `snapshot.json`                       <- the commit point;
    /// 3. fsync the directory, making the rename durable;
    /// 4. create `journal-(g+1).log`, fsync it and the directory;
    /// 5. switch appends to the new journal;
    /// 6. delete `journal-g.log`.
    ///
    /// Why every crash point loads with nothing lost:
    /// - before 2 (or after 2 with the rename not yet durable): the old snapshot.json (g) and
    ///   journal-g.log are untouched; open deletes the stray snapshot.tmp and replays journal-g;
    /// - after 2 is durable: snapshot g+1 already contains everything journal-g holds (the
    ///   caller took it after applying those records), so open ignores and deletes journal-g
    ///   and creates journal-(g+1) if step 4 did not;
    /// - a journal-(g+1) is only ever created after step 3, so one never exists beside an
    ///   older snapshot, and open may refuse that combination as damage;
    /// - no record is appended to journal-(g+1) before it and its directory entry are durable
    ///   (step 4), so an acknowledged record cannot vanish with a lost directory entry.
    /// If a step fails before the rename, the store keeps using the old journal; after it, the
    /// store becomes unusable (appending to journal-g would be lost behind snapshot g+1).
    public func compact(snapshot: [UInt8]) throws(StoreError) {
        _ = try compact(snapshot: snapshot, crash: .never)
    }

    /// `compact` with a test hook; returns false when `crash` stopped it (the store is then
    /// abandoned like a crashed process: it must not be used again).
    func compact(snapshot: [UInt8], crash: CrashPoint) throws(StoreError) -> Bool {
        try commit()
        let oldGeneration = generation
        let next = generation + 1
        let envelope = SnapshotFile(generation: next, body: snapshot).encoded()

        // Step 1: the temporary snapshot, durable on its own before it becomes visible.
        let temporaryFD = try onFile(temporarySnapshotPath, try FileIO.open(temporarySnapshotPath, [.writeOnly, .create, .truncate]))
        do throws(StoreError) {
            try onFile(temporarySnapshotPath, try FileIO.writeAll(temporaryFD, envelope))
            try onFile(temporarySnapshotPath, try FileIO.fsync(temporaryFD))
        } catch {
            FileDescriptor.close(temporaryFD)
            throw error
        }
        FileDescriptor.close(temporaryFD)
        if crash.reached("wrote snapshot.tmp") { return abandon() }

        // Step 2: the atomic switch of generations.
        try onFile(temporarySnapshotPath, try FileIO.rename(from: temporarySnapshotPath, to: snapshotPath))
        if crash.reached("renamed to snapshot.json") { return abandon() }

        let newFD: Int32
        do throws(StoreError) {
            // Step 3.
            try onFile(directory, try FileIO.fsyncDirectory(directory))
            if crash.reached("fsynced directory") { return abandon() }

            // Step 4: O_EXCL because a journal of the next generation cannot exist yet (see above).
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
        if crash.reached("created \(ShardStore.journalName(next))") { FileDescriptor.close(newFD); return abandon() }

        // Step 5.
        FileDescriptor.close(journalFD)
        journalFD = newFD
        generation = next
        journalBytes = 0
        if crash.reached("switched journals") { return abandon() }

        // Step 6: not fsynced; if the unlink is lost, open deletes the stale journal again.
        do throws(StoreError) {
            try onFile(journalPath(oldGeneration), try FileIO.unlink(journalPath(oldGeneration)))
        } catch {
            failed = true
            throw error
        }
        if crash.reached("removed \(ShardStore.journalName(oldGeneration))") { return abandon() }
        return true
    }

    private func abandon() -> Bool {
        close()
        return false
    }
}
