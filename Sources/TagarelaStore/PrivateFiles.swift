// PrivateFiles: tightens folders and files that an older version (or a loose umask) left readable by other accounts.
import TagarelaSystem

/// The instance's data is for its own account only (files 0600, folders 0700; see `FileIO.open`).
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
        // nil: removed meanwhile (a socket or pid file), nothing to protect.
        guard let found = try onFile(path, try FileTree.status(path)), found.kind != .symbolicLink else { return }
        let isDirectory = found.kind == .directory
        let mode = found.permissions
        let wanted = isDirectory ? FileIO.privateDirectoryPermissions : (mode & 0o700) | FileIO.privateFilePermissions
        if mode != wanted && (mode & 0o077 != 0 || isDirectory && mode & 0o700 != 0o700) {
            do throws(SystemError) {
                try FileIO.setPermissions(path, wanted)
            } catch {
                if error.isNotFound { return }
                throw StoreError(error, file: path)
            }
            changed.append(path)
        }
        guard isDirectory && recursive else { return }
        for name in try onFile(path, try FileTree.list(path)) {
            try tighten(path + "/" + name, recursive: true, changed: &changed)
        }
    }
}
