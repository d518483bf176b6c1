// WorkerServer+Compaction: begins a compaction on the loop, writes its snapshot on a thread of its own, finishes it on the loop.
import Foundation
import TagarelaShard
import TagarelaStore
import TagarelaSystem

extension WorkerServer {
    /// Compacts once the journal passes `compactJournalBytes`. The loop only switches journals
    /// and takes the engine's image (O(chats), see `ShardEngine.image`); serialising, writing and
    /// fsyncing the snapshot (O(shard)) run on the snapshot thread while the loop keeps serving.
    /// One compaction at a time: while one is in flight the journal may pass the threshold again
    /// by what arrives during one snapshot write; the next starts after it finishes.
    func compactIfDue() {
        guard store.journalBytes > config.compactJournalBytes, store.compactionInFlight == nil else { return }
        let startedMs = Clock.monotonicMs()
        let compaction: Compaction
        do throws(StoreError) {
            compaction = try store.beginCompaction()
        } catch {
            compactionFailed(error)
        }
        // Same turn as the switch of journals, nothing applied in between: the image holds
        // exactly what the journals before the new one hold.
        let image = engine.image()
        let pauseMs = Clock.monotonicMs() - startedMs
        let hook = snapshotWillSerialise
        compaction.writeInBackground(serialise: { hook?(); return image.serialised() }) { [loop] outcome in
            loop.execute { [weak self] in
                self?.finishCompaction(compaction, outcome, startedMs: startedMs, pauseMs: pauseMs)
            }
        }
    }

    private func finishCompaction(_ compaction: Compaction, _ outcome: Result<Void, StoreError>,
                                  startedMs: Int64, pauseMs: Int64) {
        do throws(StoreError) {
            try outcome.get()
            try store.finishCompaction(compaction)
        } catch {
            compactionFailed(error)
        }
        metrics.compactions += 1
        metrics.compactionNs.observe((Clock.monotonicMs() - startedMs) * 1_000_000)
        let durationMs = Clock.monotonicMs() - startedMs
        logEvent("compaction", message: "compacted into snapshot generation \(compaction.generation) in "
                 + "\(durationMs) ms (the loop paused \(pauseMs) ms)",
                 [("generation", .int(Int64(compaction.generation))), ("duration_ms", .int(durationMs)),
                  ("loop_pause_ms", .int(pauseMs))])
    }

    /// A stop in the middle of a compaction lets its snapshot write end, so the old journals are
    /// deleted now rather than at the next start (either way loads the same state).
    func endCompactionOnStop() {
        guard let compaction = store.compactionInFlight else { return }
        compaction.join()
        guard compaction.isWritten else {
            return log("shard \(config.shard): the snapshot of the compaction in flight was not written; "
                       + "the journals are kept and the next start replays them")
        }
        try? store.finishCompaction(compaction)
    }

    /// What is on disk is one of the protocol's loadable states, but the store cannot go on
    /// (ShardStoreCompaction.swift): stop, and the supervisor's restart recovers it.
    private func compactionFailed(_ error: StoreError) -> Never {
        log("shard \(config.shard): compaction failed: \(error); stopping")
        exit(70)
    }
}
