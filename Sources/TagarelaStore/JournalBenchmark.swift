// JournalBenchmark: measures journal throughput under each fsync policy and commit batch size.
import TagarelaSystem

/// A micro-benchmark of the journal write path, called by the benchmarks target to compare
/// `always` with group commit, `always` with one sync per record, and `never`.
public enum JournalBenchmark {
    /// Numbers each run's folder. Unchecked by the compiler: the benchmark runs on one thread
    /// (`tagarela bench journal`, and its test), never two at once.
    nonisolated(unsafe) private static var runs = 0

    /// Appends `records` records of `recordBytes` bytes to a fresh store under `directory`,
    /// committing every `recordsPerCommit` records, and reports the rates. The store lives in a
    /// new subdirectory that is removed afterwards.
    public static func run(directory: String, records: Int, recordBytes: Int, recordsPerCommit: Int,
                           policy: FsyncPolicy) throws(StoreError) -> (recordsPerSecond: Double, commitsPerSecond: Double) {
        precondition(records > 0 && recordBytes > 0 && recordsPerCommit > 0, "benchmark sizes must be positive")
        runs += 1
        let path = directory + "/journal-bench-\(ProcessSetup.processID)-\(runs)"
        try onFile(path, try FileTree.removeTree(path))
        defer { try? FileTree.removeTree(path) }
        let store = try ShardStore.open(directory: path, policy: policy, log: { _ in }).store
        defer { store.close() }
        let record = (0..<recordBytes).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 0x20) }
        var commits = 0
        let startNs = Clock.monotonicNs()
        var written = 0
        while written < records {
            let batch = min(recordsPerCommit, records - written)
            for _ in 0..<batch { store.append(record) }
            try store.commit()
            commits += 1
            written += batch
        }
        try store.sync()
        let elapsed = max(Double(Clock.monotonicNs() - startNs) / 1e9, 1e-9)
        return (Double(records) / elapsed, Double(commits) / elapsed)
    }
}
