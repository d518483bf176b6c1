// AttachmentStore: a shard's attachment files, each named by the SHA-256 of its bytes in the store's `attachments/` folder: written durably before the record that references it, deduplicated, swept when nothing references it.
import TagarelaSystem

/// The `attachments/` folder of one shard store (0700; files 0600, via `FileIO`).
///
/// Order is what keeps recovery sound: a message's journal record names its file by hash, so
/// `put` makes the file durable (under `always` and `interval`: the file and the folder entry
/// fsynced) before the caller appends the record. A crash between the two leaves a file no
/// record names, which `sweep` removes at the next start; it can never leave a record whose
/// file is missing. Under `never` nothing is forced (as for the journal): the file is in the
/// page cache before the record, which survives the process being killed, not a power loss.
public struct AttachmentStore {
    /// The folder.
    public let directory: String
    /// When files reach stable storage.
    public let policy: FsyncPolicy

    /// `DIR/attachments` of the shard store `storeDirectory`.
    public static func directory(ofStore storeDirectory: String) -> String { storeDirectory + "/attachments" }

    /// Opens (creating it 0700 when missing) the attachment folder of `storeDirectory`.
    public init(storeDirectory: String, policy: FsyncPolicy) throws(StoreError) {
        directory = AttachmentStore.directory(ofStore: storeDirectory)
        self.policy = policy
        try onFile(directory, try FileTree.makeDirectories(directory))
    }

    /// The path of the file with hash `sha256` (lower-case hex, checked by the caller's parser).
    public func path(_ sha256: String) -> String { directory + "/" + sha256 }

    /// Stores `bytes` as `sha256` unless a file of that name is there already (deduplication:
    /// the name is the content's hash, and a file only ever gets its name by a rename after it
    /// was complete, so one that exists is whole). Returns whether it wrote.
    @discardableResult
    public func put(sha256: String, bytes: [UInt8]) throws(StoreError) -> Bool {
        let target = path(sha256)
        if FileTree.exists(target) { return false }
        let temporary = target + ".tmp"
        let sync = policy != .never
        try onFile(temporary, try Self.write(bytes, to: temporary, sync: sync))
        try onFile(target, try FileIO.rename(from: temporary, to: target))
        if sync { try onFile(directory, try FileIO.fsyncDirectory(directory)) }
        return true
    }

    private static func write(_ bytes: [UInt8], to path: String, sync: Bool) throws(SystemError) {
        let fd = try FileIO.open(path, [.writeOnly, .create, .truncate])
        defer { FileDescriptor.close(fd) }
        try FileIO.writeAll(fd, bytes)
        if sync { try FileIO.fsync(fd) }
    }

    /// The bytes stored as `sha256`, nil when there is no such file.
    public func read(sha256: String) throws(StoreError) -> [UInt8]? {
        try onFile(path(sha256), try FileIO.readFile(path(sha256)))
    }

    /// The hashes stored.
    public func stored() throws(StoreError) -> [String] {
        try onFile(directory, try FileTree.list(directory)).filter { !$0.hasSuffix(".tmp") }
    }

    /// Removes every file no message references (`keep`): left by a crash between a file and
    /// its record, or by a reshard that moved their chats to another shard; and temporary
    /// files of an interrupted `put`. Messages are never deleted, so this is the only way a
    /// file stops being referenced. Returns the names removed.
    @discardableResult
    public func sweep(keep: Set<String>) throws(StoreError) -> [String] {
        var removed: [String] = []
        for name in try onFile(directory, try FileTree.list(directory)) where !keep.contains(name) {
            try onFile(directory + "/" + name, try FileTree.removeTree(directory + "/" + name))
            removed.append(name)
        }
        if !removed.isEmpty && policy != .never { try onFile(directory, try FileIO.fsyncDirectory(directory)) }
        return removed
    }

    /// Hard-links `sha256` from the first of `sources` (attachment folders) that holds it into
    /// `destination` (an attachment folder): how resharding moves files with their chats without
    /// copying bytes (the shard folders share a file system). False when no source holds it.
    static func link(_ sha256: String, from sources: [String], into destination: String) throws(StoreError) -> Bool {
        let target = destination + "/" + sha256
        if FileTree.exists(target) { return true }
        for source in sources where FileTree.exists(source + "/" + sha256) {
            try onFile(target, try FileIO.link(from: source + "/" + sha256, to: target))
            return true
        }
        return false
    }
}
