// CorruptRecordFile: keeps the bytes cut off at a journal record with a bad checksum in a side file, and finds those files.
import TagarelaSystem

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

    /// Whether `name` is a side file of some journal.
    static func isSideFile(_ name: String) -> Bool {
        name.hasPrefix("journal-") && name.contains(".log" + infix)
    }

    /// `journal-G.log.corrupt-<offset>-<yyyymmddThhmmssZ>`.
    static func name(journal: String, offset: Int, time: Int64) -> String {
        journal + infix + "\(offset)-" + Clock.utcStamp(epochSeconds: time)
    }

    /// Writes `bytes` to a new side file of `journal` in `directory` (mode 0600 whatever the
    /// umask), durably (file and directory entry fsynced) before the caller cuts the journal.
    /// Returns the file's name; a name already taken (the same offset in the same second) gets
    /// a `.k` suffix, so evidence is never overwritten.
    static func save(_ bytes: ArraySlice<UInt8>, directory: String, journal: String, offset: Int,
                     time: Int64 = Clock.wallSeconds()) throws(StoreError) -> String {
        let base = name(journal: journal, offset: offset, time: time)
        var name = base
        var attempt = 0
        var fd: Int32 = -1
        while fd < 0 {
            do throws(SystemError) {
                // Created with exactly 0600 whatever the umask (FileIO.open fchmods a new file).
                fd = try FileIO.open(directory + "/" + name, [.writeOnly, .create, .exclusive])
            } catch {
                guard error.isAlreadyExisting, attempt < 1000 else { throw StoreError(error, file: directory + "/" + name) }
                attempt += 1
                name = base + ".\(attempt)"
            }
        }
        let path = directory + "/" + name
        defer { FileDescriptor.close(fd) }
        try onFile(path, try FileIO.writeAll(fd, Array(bytes)))
        try onFile(path, try FileIO.fsync(fd))
        try onFile(directory, try FileIO.fsyncDirectory(directory))
        return name
    }
}
