// PrivateFiles: tightens folders and files that an older version (or a loose umask) left readable by other accounts.
import Glibc

/// The instance's data is for its own account only (files 0600, folders 0700; see `StoreFiles`).
public enum PrivateFiles {
    /// Removes group and other permissions from `path` and, with `recursive`, from everything
    /// under it: folders become 0700 and files 0600 (an owner's execute bit on a file is kept).
    /// Symbolic links are skipped, never followed: what they point at is not ours to change.
    /// What was tightened is logged in one line, so an operator learns the data had been exposed.
    public static func makePrivate(_ path: String, recursive: Bool, log: (String) -> Void) throws(StoreError) {
        var changed: [String] = []
        try tighten(path, recursive: recursive, changed: &changed)
        guard !changed.isEmpty else { return }
        let shown = changed.prefix(5).joined(separator: ", ")
        let more = changed.count > 5 ? " and \(changed.count - 5) more" : ""
        log("tightened \(changed.count) paths that other accounts could read or enter (now 0700/0600): \(shown)\(more)")
    }

    private static func tighten(_ path: String, recursive: Bool, changed: inout [String]) throws(StoreError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }  // removed meanwhile (a socket or pid file): nothing to protect
            throw .io(op: "lstat", path: path, errno: errno)
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFLNK { return }
        let isDirectory = type == S_IFDIR
        let mode = info.st_mode & 0o7777
        let wanted: mode_t = isDirectory ? StoreFiles.directoryMode : (mode & 0o700) | StoreFiles.fileMode
        if mode != wanted && (mode & 0o077 != 0 || isDirectory && mode & 0o700 != 0o700) {
            guard chmod(path, wanted) == 0 else {
                if errno == ENOENT { return }
                throw .io(op: "chmod", path: path, errno: errno)
            }
            changed.append(path)
        }
        guard isDirectory && recursive else { return }
        for name in try StoreFiles.list(path) { try tighten(path + "/" + name, recursive: true, changed: &changed) }
    }
}
