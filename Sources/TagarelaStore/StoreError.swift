// StoreError: the operating errors of the shard store, each naming the file involved.
import TagarelaSystem

/// Why a store operation failed. Corruption cases name the file (and offset) so an operator can
/// look at exactly the damaged bytes: the store never guesses past damage.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// A system call failed; `errno` is the C errno (0 when the failure is not a syscall's).
    case io(op: String, path: String, errno: Int32)
    /// Journal damage before its tail (a bad record followed by valid data): startup must stop.
    case corruptJournal(file: String, offset: Int, reason: String)
    /// The snapshot file does not parse or its checksum does not match.
    case corruptSnapshot(file: String, reason: String)
    /// Files that cannot coexist under the store's protocols (e.g. a journal newer than the
    /// snapshot, a layout that disagrees with the requested resharding).
    case inconsistent(path: String, reason: String)
    /// The caller's resharding split function failed or returned the wrong number of shards.
    case splitFailed(reason: String)
    /// An earlier commit, sync or compaction failed, so what is on disk is unknown; the process
    /// must restart and recover from disk (retrying an fsync after a failure can lie).
    case unusable

    public var description: String {
        switch self {
        case .io(let op, let path, let errno):
            return "\(op) \(path): errno \(errno)" + (errno == 0 ? "" : " (\(SystemError(op: op, errno: errno).message))")
        case .corruptJournal(let file, let offset, let reason):
            return "journal \(file) is damaged at byte offset \(offset): \(reason)"
        case .corruptSnapshot(let file, let reason):
            return "snapshot \(file) is damaged: \(reason)"
        case .inconsistent(let path, let reason):
            return "inconsistent store files at \(path): \(reason)"
        case .splitFailed(let reason):
            return "reshard split failed: \(reason)"
        case .unusable:
            return "the store failed earlier and must be reopened"
        }
    }
}

extension StoreError {
    /// A failed TagarelaSystem call as the store reports it: the path the call named, else `file`.
    init(_ error: SystemError, file: String) {
        self = .io(op: error.op, path: error.path ?? file, errno: error.errno)
    }
}

/// Runs one TagarelaSystem file call made for `file`; a failure becomes `StoreError.io` naming
/// it (or the path the call was given). The store's one bridge to the system layer:
/// `try onFile(journal, try FileIO.fdatasync(fd))`.
@inline(__always)
func onFile<T>(_ file: String, _ call: @autoclosure () throws(SystemError) -> T) throws(StoreError) -> T {
    do {
        return try call()
    } catch {
        throw StoreError(error, file: file)
    }
}
