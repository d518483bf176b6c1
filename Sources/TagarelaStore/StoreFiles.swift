// StoreFiles: the few Glibc file calls the store needs, with EINTR retried and errno typed.
import Glibc

/// Thin, store-private wrappers over Glibc; every failure becomes `StoreError.io` naming the
/// path. The store already depends on TagarelaSystem (Package.swift), so these duplicate its
/// layer rather than avoid a dependency (issue 9 moves the store onto TagarelaSystem).
enum StoreFiles {
    /// The store holds password hashes, session hashes and every message: only its own user may
    /// read it (issue 8: 0644 files in 0755 folders let any local account read them all).
    static let fileMode: mode_t = 0o600
    static let directoryMode: mode_t = 0o700

    /// Opens `path`; a file it creates (`O_CREAT`) is 0600 whatever the process umask.
    static func open(_ path: String, _ flags: Int32) throws(StoreError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, fileMode)
            if fd >= 0 {
                // The umask can only take bits away from `fileMode`; fchmod makes it exactly 0600
                // even under an odd umask that removed the owner's own bits.
                if flags & O_CREAT != 0 && fchmod(fd, fileMode) != 0 {
                    let code = errno
                    close(fd)
                    throw .io(op: "fchmod", path: path, errno: code)
                }
                return fd
            }
            if errno != EINTR { throw .io(op: "open", path: path, errno: errno) }
        }
    }

    static func close(_ fd: Int32) {
        // Linux closes the descriptor even when close reports EINTR, so it is never retried.
        _ = Glibc.close(fd)
    }

    /// Writes every byte, looping over short writes.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw .io(op: "write", path: path, errno: n < 0 ? errno : ENOSPC)
            }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        let result: Result<Void, StoreError> = bytes.withUnsafeBytes { raw in
            do throws(StoreError) { try writeAll(fd, raw, path: path); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// The whole file, or nil when it does not exist.
    static func readAll(_ path: String) throws(StoreError) -> [UInt8]? {
        let fd: Int32
        do { fd = try open(path, O_RDONLY) } catch {
            if case .io(_, _, let code) = error, code == ENOENT { return nil }
            throw error
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(op: "fstat", path: path, errno: errno) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 {
                offset += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw .io(op: "read", path: path, errno: errno)
            }
        }
        if offset < bytes.count { bytes.removeLast(bytes.count - offset) }
        return bytes
    }

    static func fdatasync(_ fd: Int32, path: String) throws(StoreError) {
        while Glibc.fdatasync(fd) != 0 {
            if errno != EINTR { throw .io(op: "fdatasync", path: path, errno: errno) }
        }
    }

    static func fsync(_ fd: Int32, path: String) throws(StoreError) {
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { throw .io(op: "fsync", path: path, errno: errno) }
        }
    }

    static func truncate(_ fd: Int32, length: Int, path: String) throws(StoreError) {
        while Glibc.ftruncate(fd, off_t(length)) != 0 {
            if errno != EINTR { throw .io(op: "ftruncate", path: path, errno: errno) }
        }
    }

    static func rename(_ from: String, _ to: String) throws(StoreError) {
        guard Glibc.rename(from, to) == 0 else { throw .io(op: "rename to \(to)", path: from, errno: errno) }
    }

    /// Makes a directory's entries (creations, renames, unlinks) durable: a renamed file is only
    /// safely renamed once its directory has been fsynced.
    static func fsyncDirectory(_ path: String) throws(StoreError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// Removes a file; a file that is already gone is fine.
    static func unlink(_ path: String) throws(StoreError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw .io(op: "unlink", path: path, errno: errno) }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// `mkdir -p` with mode 0700, fsyncing the parent of every directory it creates so the new entry survives a crash.
    static func makeDirectories(_ path: String) throws(StoreError) {
        if isDirectory(path) { return }
        let parent = parentDirectory(path)
        if parent != path { try makeDirectories(parent) }
        if mkdir(path, directoryMode) != 0 {
            if errno != EEXIST { throw .io(op: "mkdir", path: path, errno: errno) }
        } else if chmod(path, directoryMode) != 0 {
            // As for files: exactly 0700, whatever the umask took away.
            throw .io(op: "chmod", path: path, errno: errno)
        }
        try fsyncDirectory(parent)
    }

    static func parentDirectory(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// The names in a directory, without "." and "..", sorted for deterministic processing.
    static func list(_ path: String) throws(StoreError) -> [String] {
        guard let dir = opendir(path) else { throw .io(op: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// `rm -rf`: removes a file or a directory tree; a missing path is fine.
    static func removeTree(_ path: String) throws(StoreError) {
        guard exists(path) else { return }
        if isDirectory(path) {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw .io(op: "rmdir", path: path, errno: errno) }
        } else {
            try unlink(path)
        }
    }

    /// Creates or replaces `path` atomically and durably: write a temporary file, fsync it, rename
    /// it over `path`, fsync the directory. Readers see the old or the new content, never a mix.
    static func writeDurably(_ bytes: [UInt8], to path: String, temporary: String) throws(StoreError) {
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try writeAll(fd, bytes, path: temporary)
            try fsync(fd, path: temporary)
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try rename(temporary, path)
        try fsyncDirectory(parentDirectory(path))
    }
}
