// FileIO: the file calls a durable store makes (open, read, write, fsync, fdatasync, ftruncate, rename, unlink), errno typed.
import Glibc

/// File calls with `EINTR` retried and failures as `SystemError` (typed throws, so a caller such
/// as the shard store maps each to its own error). An error's `op` is the call's name and its
/// `path` the file the call was given; calls on a descriptor leave `path` to their caller.
///
/// The crash-safe replace sequence is: write a temp file, `fsync` it, `rename` it over the old
/// name, then `fsyncDirectory` so the rename itself survives a power cut (POSIX makes a
/// directory entry durable only when the directory is synced); `FileTree.replaceDurably` does it.
public enum FileIO {
    /// How `open` opens a file (the `O_` flags, named so callers need no C constants).
    public struct OpenMode: OptionSet, Sendable {
        public let rawValue: Int32
        /// Creates from raw `O_` flags.
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// Read only: the absence of `.writeOnly`.
        public static let readOnly: OpenMode = []
        /// `O_WRONLY`.
        public static let writeOnly = OpenMode(rawValue: O_WRONLY)
        /// `O_APPEND`: every write goes to the end (a journal).
        public static let append = OpenMode(rawValue: O_APPEND)
        /// `O_CREAT`: create the file if missing, with exactly the permissions asked for.
        public static let create = OpenMode(rawValue: O_CREAT)
        /// `O_EXCL` (with `.create`): fail with `EEXIST` (`isAlreadyExisting`) if the name is taken.
        public static let exclusive = OpenMode(rawValue: O_EXCL)
        /// `O_TRUNC`: empty an existing file.
        public static let truncate = OpenMode(rawValue: O_TRUNC)
        /// `O_DIRECTORY`: the path must be a folder (opened to fsync it).
        public static let directory = OpenMode(rawValue: O_DIRECTORY)
    }

    /// Owner read and write, nothing for anyone else: what Tagarela writes is its users' data
    /// (issue 8: 0644 files in 0755 folders let any local account read them all).
    public static let privateFilePermissions: UInt32 = 0o600
    /// Owner only, for folders.
    public static let privateDirectoryPermissions: UInt32 = 0o700

    /// Opens `path` (`O_CLOEXEC` always added). A file it creates gets exactly `permissions`,
    /// whatever the process umask: the umask can only take bits away, and an odd one that
    /// removed the owner's own bits would leave a file its owner cannot reopen, so the new
    /// file is `fchmod`ed.
    public static func open(_ path: String, _ mode: OpenMode,
                            permissions: UInt32 = privateFilePermissions) throws(SystemError) -> Int32 {
        let fd = try retryingEINTR("open", path: path) { Glibc.open(path, mode.rawValue | O_CLOEXEC, mode_t(permissions)) }
        if mode.contains(.create) && fchmod(fd, mode_t(permissions)) != 0 {
            let error = SystemError(op: "fchmod", path: path)
            FileDescriptor.close(fd)
            throw error
        }
        return fd
    }

    /// Flushes the file's data and metadata to stable storage.
    public static func fsync(_ fd: Int32) throws(SystemError) {
        _ = try retryingEINTR("fsync") { Glibc.fsync(fd) }
    }

    /// Flushes the file's data (and only the metadata needed to read it back, such as its size):
    /// cheaper than `fsync` for an append-only journal.
    public static func fdatasync(_ fd: Int32) throws(SystemError) {
        _ = try retryingEINTR("fdatasync") { Glibc.fdatasync(fd) }
    }

    /// Truncates (or extends with zeros) the open file to `length` bytes: how a torn journal tail is cut.
    public static func truncate(_ fd: Int32, length: Int) throws(SystemError) {
        _ = try retryingEINTR("ftruncate") { ftruncate(fd, off_t(length)) }
    }

    /// Atomically replaces `to` with `from` (same file system). An error's path is `from`.
    public static func rename(from: String, to: String) throws(SystemError) {
        _ = try retryingEINTR("rename to \(to)", path: from) { Glibc.rename(from, to) }
    }

    /// Makes `to` a second name (hard link) of the file `from` (same file system). An error's
    /// path is `from`.
    public static func link(from: String, to: String) throws(SystemError) {
        _ = try retryingEINTR("link to \(to)", path: from) { Glibc.link(from, to) }
    }

    /// Makes the directory's entries (created, renamed, unlinked files) durable.
    public static func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try open(path, [.readOnly, .directory])
        defer { FileDescriptor.close(fd) }
        do { try fsync(fd) } catch { throw error.naming(path) }
    }

    /// Removes the file `path`; a missing file is not an error.
    public static func unlink(_ path: String) throws(SystemError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw SystemError(op: "unlink", path: path) }
    }

    /// Sets `path`'s permission bits (a symbolic link is followed, so check `FileTree.status` first).
    public static func setPermissions(_ path: String, _ permissions: UInt32) throws(SystemError) {
        _ = try retryingEINTR("chmod", path: path) { chmod(path, mode_t(permissions)) }
    }

    /// Writes every byte of `bytes` at the file's offset (its end with `.append`), looping over
    /// short writes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        try FileDescriptor.writeAll(fd, bytes)
    }

    /// Reads the whole file at `path`, or nil when it does not exist. The buffer is sized once
    /// from `fstat` (a snapshot can be hundreds of megabytes), then filled.
    public static func readFile(_ path: String) throws(SystemError) -> [UInt8]? {
        let fd: Int32
        do {
            fd = try open(path, .readOnly)
        } catch where error.isNotFound {
            return nil
        }
        defer { FileDescriptor.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError(op: "fstat", path: path) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let outcome: Result<IOResult, SystemError> = bytes.withUnsafeMutableBytes { raw in
                do throws(SystemError) {
                    return .success(try FileDescriptor.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...])))
                } catch {
                    return .failure(error)
                }
            }
            let result: IOResult
            do { result = try outcome.get() } catch { throw error.naming(path) }
            switch result {
            case .bytes(let n): filled += n
            case .eof: bytes.removeLast(bytes.count - filled)  // shrank meanwhile: what is there
            case .wouldBlock: throw SystemError(op: "read", errno: EAGAIN, path: path)
            }
        }
        return bytes
    }
}
