// FileIO: the durability calls the store needs (open, fsync, fdatasync, rename, directory fsync, truncate).
import Glibc

/// File calls with typed errors. The crash-safe replace sequence is: write a temp file,
/// `fsync` it, `rename` it over the old name, then `fsyncDirectory` so the rename itself survives
/// a power cut (POSIX makes the directory entry durable only when the directory is synced).
public enum FileIO {
    /// Opens `path` with `flags` (`O_CLOEXEC` is always added) and `mode` for created files:
    /// 0600 unless asked otherwise, since what Tagarela writes is its users' data (issue 8).
    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws -> Int32 {
        try retryingEINTR("open(\(path))") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Flushes the file's data and metadata to stable storage.
    public static func fsync(_ fd: Int32) throws {
        _ = try retryingEINTR("fsync") { Glibc.fsync(fd) }
    }

    /// Flushes the file's data (and only the metadata needed to read it back, such as its size):
    /// cheaper than `fsync` for an append-only journal.
    public static func fdatasync(_ fd: Int32) throws {
        _ = try retryingEINTR("fdatasync") { Glibc.fdatasync(fd) }
    }

    /// Atomically replaces `to` with `from` (same file system).
    public static func rename(from: String, to: String) throws {
        _ = try retryingEINTR("rename(\(from) -> \(to))") { Glibc.rename(from, to) }
    }

    /// Makes the directory's entries (created, renamed, unlinked files) durable.
    public static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { FileDescriptor.close(fd) }
        try fsync(fd)
    }

    /// Truncates (or extends with zeros) the open file to `length` bytes: how a torn journal tail is cut.
    public static func truncate(_ fd: Int32, length: Int) throws {
        _ = try retryingEINTR("ftruncate") { ftruncate(fd, off_t(length)) }
    }

    /// Removes `path`; a missing file is not an error.
    public static func unlink(_ path: String) throws {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw SystemError(op: "unlink(\(path))") }
    }

    /// Creates the directory `path` with mode 0700 (whatever the umask); an existing one is not an error.
    public static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) == 0 {
            _ = try retryingEINTR("chmod(\(path))") { chmod(path, 0o700) }
        } else if errno != EEXIST {
            throw SystemError(op: "mkdir(\(path))")
        }
    }

    /// Reads the whole file at `path`, or nil when it does not exist.
    public static func readFile(_ path: String) throws -> [UInt8]? {
        let fd: Int32
        do {
            fd = try open(path, flags: O_RDONLY)
        } catch let error as SystemError where error.errno == ENOENT {
            return nil
        }
        defer { FileDescriptor.close(fd) }
        var result = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let outcome = try chunk.withUnsafeMutableBytes { try FileDescriptor.read(fd, into: $0) }
            switch outcome {
            case .bytes(let n): result.append(contentsOf: chunk[0..<n])
            case .eof: return result
            case .wouldBlock: throw SystemError(op: "read(\(path))", errno: EAGAIN)
            }
        }
    }
}
