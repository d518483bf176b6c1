// FsyncPolicy: when the journal is forced to stable storage.

/// When committed journal records reach stable storage.
public enum FsyncPolicy: String, CaseIterable {
    /// Every `commit()` ends with one `fdatasync`: group commit, so all records of one event-loop
    /// turn share one write and one sync, and replies are released only after it (the default).
    case always
    /// `commit()` only writes; the caller's 1 s timer calls `sync()`. A crash loses at most about
    /// a second of acknowledged writes.
    case interval
    /// Never sync; the kernel writes back when it likes. For benchmarks and throwaway data.
    case never
}
