// FileTree: folders and paths: status without following links, listing, mkdir -p and rm -rf, and the durable replace of a file.
import Glibc

/// Path-level file-system calls, built on `FileIO`'s with the same typed errors; an error's
/// `path` is the entry the failing call was working on (in a tree, perhaps one inside it).
public enum FileTree {
    /// What `status` found at a path (`lstat`: a symbolic link is reported, never followed).
    public struct Status: Equatable {
        /// The kind of entry.
        public enum Kind: Equatable {
            case file, directory, symbolicLink, other
        }
        /// The kind of entry.
        public var kind: Kind
        /// The permission bits (`st_mode & 0o7777`).
        public var permissions: UInt32

        /// Creates a status (for comparisons).
        public init(kind: Kind, permissions: UInt32) {
            self.kind = kind
            self.permissions = permissions
        }
    }

    /// The entry at `path`, or nil when nothing is there.
    public static func status(_ path: String) throws(SystemError) -> Status? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw SystemError(op: "lstat", path: path)
        }
        let kind: Status.Kind
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        return Status(kind: kind, permissions: UInt32(info.st_mode & 0o7777))
    }

    /// Whether anything (a link included) is at `path`; an unreadable path counts as absent.
    public static func exists(_ path: String) -> Bool {
        (try? status(path)) != nil
    }

    /// Whether `path` is a folder itself (not a link to one).
    public static func isDirectory(_ path: String) -> Bool {
        (try? status(path))?.kind == .directory
    }

    /// The names in a folder, without "." and "..", sorted so callers process them in a fixed order.
    public static func list(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError(op: "opendir", path: path) }
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

    /// Creates the folder `path` with exactly 0700 (whatever the umask took away, as for files
    /// in `FileIO.open`); an existing one is left as it is. Returns whether it was created.
    @discardableResult
    public static func makeDirectory(_ path: String) throws(SystemError) -> Bool {
        if mkdir(path, mode_t(FileIO.privateDirectoryPermissions)) != 0 {
            if errno == EEXIST { return false }
            throw SystemError(op: "mkdir", path: path)
        }
        try FileIO.setPermissions(path, FileIO.privateDirectoryPermissions)
        return true
    }

    /// `mkdir -p` with 0700 folders, fsyncing the parent of every folder it creates so the new
    /// entry survives a crash.
    public static func makeDirectories(_ path: String) throws(SystemError) {
        if isDirectory(path) { return }
        let parent = parentDirectory(path)
        if parent != path { try makeDirectories(parent) }
        if try makeDirectory(path) { try FileIO.fsyncDirectory(parent) }
    }

    /// `rm -rf`: removes a file or a folder tree (links are removed, never followed); a
    /// missing path is fine.
    public static func removeTree(_ path: String) throws(SystemError) {
        guard let found = try status(path) else { return }
        if found.kind == .directory {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw SystemError(op: "rmdir", path: path) }
        } else {
            try FileIO.unlink(path)
        }
    }

    /// The folder holding `path` ("." for a bare name, "/" for a top-level one).
    public static func parentDirectory(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// Creates or replaces `path` atomically and durably: write `temporary` (0600), fsync it,
    /// rename it over `path`, fsync the folder. Readers see the old or the new content, never a
    /// mix, and after a crash the new content is there only if the folder's fsync returned.
    public static func replaceDurably(_ path: String, with bytes: [UInt8], temporary: String) throws(SystemError) {
        let fd = try FileIO.open(temporary, [.writeOnly, .create, .truncate])
        do {
            try FileIO.writeAll(fd, bytes)
            try FileIO.fsync(fd)
        } catch {
            FileDescriptor.close(fd)
            throw error.naming(temporary)
        }
        FileDescriptor.close(fd)
        try FileIO.rename(from: temporary, to: path)
        try FileIO.fsyncDirectory(parentDirectory(path))
    }
}
