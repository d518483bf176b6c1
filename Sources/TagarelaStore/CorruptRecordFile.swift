// CorruptRecordFile: keeps the bytes cut off at a journal record with a bad checksum in a side file, and finds those files.
import Glibc

/// Recovery cuts a journal at its first invalid record (JournalFormat.scan). A torn tail, the
/// interrupted last write, was never acknowledged, and cutting it loses nothing. A complete
/// record with a bad checksum may have been acknowledged (a bit flipped on disk after the
/// fact), so before the cut its bytes, from its offset to the end of the file, are written to
/// `journal-G.log.corrupt-<offset>-<UTC time>` beside the journal: an operator can inspect them,
/// and the files are counted (the worker reports them for `/metrics`, `deploy/tagarela status`
/// lists them) until the operator removes them.
enum CorruptRecordFile {
    /// What follows the journal's name in a side file's name.
    static let infix = ".corrupt-"
    /// Side files are private like the journal they come from: only the owner reads them.
    static let mode: mode_t = 0o600

    /// Whether `name` is a side file of some journal.
    static func isSideFile(_ name: String) -> Bool {
        name.hasPrefix("journal-") && name.contains(".log" + infix)
    }

    /// `journal-G.log.corrupt-<offset>-<yyyymmddThhmmssZ>`.
    static func name(journal: String, offset: Int, time: time_t) -> String {
        var t = time
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let stamp = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
        return journal + infix + "\(offset)-" + stamp
    }

    /// Writes `bytes` to a new side file of `journal` in `directory` (mode 0600 whatever the
    /// umask), durably (file and directory entry fsynced) before the caller cuts the journal.
    /// Returns the file's name; a name already taken (the same offset in the same second) gets
    /// a `.k` suffix, so evidence is never overwritten.
    static func save(_ bytes: ArraySlice<UInt8>, directory: String, journal: String, offset: Int,
                     time: time_t = Glibc.time(nil)) throws(StoreError) -> String {
        let base = name(journal: journal, offset: offset, time: time)
        var name = base
        var attempt = 0
        var fd: Int32 = -1
        while fd < 0 {
            do {
                fd = try StoreFiles.open(directory + "/" + name, O_WRONLY | O_CREAT | O_EXCL)
            } catch {
                guard case .io(_, _, let code) = error, code == EEXIST, attempt < 1000 else { throw error }
                attempt += 1
                name = base + ".\(attempt)"
            }
        }
        let path = directory + "/" + name
        defer { StoreFiles.close(fd) }
        guard fchmod(fd, mode) == 0 else { throw .io(op: "fchmod", path: path, errno: errno) }
        try StoreFiles.writeAll(fd, Array(bytes), path: path)
        try StoreFiles.fsync(fd, path: path)
        try StoreFiles.fsyncDirectory(directory)
        return name
    }
}
