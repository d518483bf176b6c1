// Reshard: crash-safe re-partitioning of a data directory's shards for a new worker count.
import TagarelaJSON
import TagarelaSystem

/// Changes the worker count of a data directory `DIR` whose shards are `DIR/shard-K`.
///
/// Protocol (each arrow is a durable step; `COMPLETE` is the commit point):
/// 1. load every old shard (recovering it like a worker would) and call the caller's split;
/// 2. write each new shard as a fresh store into `DIR/.reshard-staging/shard-K` (snapshot
///    generation 0, empty journal, all fsynced);
/// 3. write `DIR/.reshard-staging/COMPLETE` holding the new worker count, fsync it and the
///    staging directory      <- from here on the new layout wins;
/// 4. move old `DIR/shard-K` into `DIR/.reshard-old/`, then staging shards into `DIR/`;
/// 5. write `DIR/layout.json` with the new count (and the slot count it stated: `run` needs one);
/// 6. delete `.reshard-old`, then `COMPLETE`, then the staging directory.
///
/// `recover` (run at every startup, and first thing in `run`): staging without `COMPLETE` is an
/// attempt that never committed, so it is deleted and the old layout, untouched until step 4,
/// stays; staging with `COMPLETE` is finished from wherever it stopped: step 4 is idempotent
/// because a new shard K lives either in staging or in `DIR/shard-K`, never both, so a
/// `DIR/shard-K` is old exactly when K >= new count or staging still holds shard K.
public enum Reshard {
    /// One old shard's durable contents, as a worker would load them.
    public struct ShardContents {
        /// The shard's snapshot (nil before its first compaction).
        public var snapshot: [UInt8]?
        /// The journal records to apply on top of the snapshot, in order.
        public var records: [[UInt8]]

        /// Creates shard contents.
        public init(snapshot: [UInt8]?, records: [[UInt8]]) {
            self.snapshot = snapshot
            self.records = records
        }
    }

    /// One new shard as the split makes it: its snapshot and the SHA-256 names of the
    /// attachment files its messages reference, which move with their chats (step 2).
    public struct NewShard {
        /// The new shard's snapshot.
        public var snapshot: [UInt8]
        /// The attachment files it needs (AttachmentStore names).
        public var attachments: [String]

        /// Creates a new shard's contents.
        public init(snapshot: [UInt8], attachments: [String]) {
            self.snapshot = snapshot
            self.attachments = attachments
        }
    }

    static let stagingName = ".reshard-staging"
    static let oldName = ".reshard-old"
    static let markerName = "COMPLETE"

    /// `DIR/shard-K`, the store directory of worker K.
    public static func shardDirectory(dataDir: String, shard: Int) -> String {
        dataDir + "/shard-\(shard)"
    }

    /// Re-partitions `dataDir` from `oldWorkers` to `newWorkers` shards.
    /// - Parameter split: given the old shards' contents (index = old shard), returns the new
    ///   snapshot bytes for each new shard (index = new shard); it must return `newWorkers` items.
    public static func run(dataDir: String, from oldWorkers: Int, to newWorkers: Int,
                           log: (String) -> Void = { _ in },
                           split: ([ShardContents]) throws -> [[UInt8]]) throws(StoreError) {
        _ = try run(dataDir: dataDir, from: oldWorkers, to: newWorkers, log: log,
                    split: { try split($0).map { NewShard(snapshot: $0, attachments: []) } }, crash: .never)
    }

    /// `run` whose split also names each new shard's attachment files: they are hard-linked
    /// into the staged shard from the old shards (so a chat's files move with it), and the
    /// old copies go with the old shard folders.
    public static func run(dataDir: String, from oldWorkers: Int, to newWorkers: Int,
                           log: (String) -> Void = { _ in },
                           splitShards: ([ShardContents]) throws -> [NewShard]) throws(StoreError) {
        _ = try run(dataDir: dataDir, from: oldWorkers, to: newWorkers, log: log, split: splitShards, crash: .never)
    }

    /// `run` over plain snapshots with a test hook.
    static func run(dataDir: String, from oldWorkers: Int, to newWorkers: Int, log: (String) -> Void,
                    split: ([ShardContents]) throws -> [[UInt8]], crash: CrashPoint) throws(StoreError) -> Bool {
        try run(dataDir: dataDir, from: oldWorkers, to: newWorkers, log: log,
                split: { try split($0).map { NewShard(snapshot: $0, attachments: []) } }, crash: crash)
    }

    /// `run` with a test hook; returns false when `crash` stopped it.
    static func run(dataDir: String, from oldWorkers: Int, to newWorkers: Int, log: (String) -> Void,
                    split: ([ShardContents]) throws -> [NewShard], crash: CrashPoint) throws(StoreError) -> Bool {
        precondition(oldWorkers > 0 && newWorkers > 0, "worker counts must be positive")
        try recover(dataDir: dataDir, log: log)
        // layout.json states the slot count, which the new layout carries over (`finish`).
        guard let layout = try Layout.read(dataDir: dataDir) else {
            throw .inconsistent(path: dataDir + "/" + Layout.fileName, reason: "missing: the data's slot count is unknown")
        }
        if layout.workers != oldWorkers {
            throw .inconsistent(path: dataDir + "/" + Layout.fileName,
                                reason: "layout has \(layout.workers) workers, resharding expected \(oldWorkers)")
        }

        // Step 1: load (recovering torn tails as a worker would) and split in memory.
        var contents: [ShardContents] = []
        var sideFiles: [String] = []
        for shard in 0..<oldWorkers {
            let directory = shardDirectory(dataDir: dataDir, shard: shard)
            guard FileTree.isDirectory(directory) else {
                contents.append(ShardContents(snapshot: nil, records: []))
                continue
            }
            let opened = try ShardStore.open(directory: directory, policy: .always, log: log)
            opened.store.close()
            sideFiles += opened.store.corruptRecordFiles.map { directory + "/" + $0 }
            contents.append(ShardContents(snapshot: opened.snapshot, records: opened.records))
        }
        // The swap deletes the old shard folders: a side file holding a corrupt record's bytes
        // (CorruptRecordFile) would go with them. An operator looks at it and moves it out first.
        if let first = sideFiles.first {
            throw .inconsistent(path: first, reason: "holds the bytes of a corrupt journal record (\(sideFiles.count) such "
                                + "files in the shard folders); inspect them and move them out of the shard folders, "
                                + "then reshard again")
        }
        let snapshots: [NewShard]
        do {
            snapshots = try split(contents)
        } catch {
            throw .splitFailed(reason: String(describing: error))
        }
        guard snapshots.count == newWorkers else {
            throw .splitFailed(reason: "split returned \(snapshots.count) shards, expected \(newWorkers)")
        }

        // Step 2: fresh stores in staging.
        let staging = dataDir + "/" + stagingName
        try onFile(staging, try FileTree.removeTree(staging))
        try onFile(staging, try FileTree.makeDirectories(staging))
        let oldAttachments = (0..<oldWorkers).map {
            AttachmentStore.directory(ofStore: shardDirectory(dataDir: dataDir, shard: $0))
        }
        for (shard, new) in snapshots.enumerated() {
            let directory = staging + "/shard-\(shard)"
            try ShardStore.createFresh(directory: directory, snapshot: new.snapshot)
            try stageAttachments(new.attachments, from: oldAttachments, into: directory, log: log)
            if crash.reached("staged shard-\(shard)") { return false }
        }
        try onFile(staging, try FileIO.fsyncDirectory(staging))

        // Step 3: the commit point.
        let marker = Array("{\"workers\": \(newWorkers)}\n".utf8)
        let markerPath = staging + "/" + markerName
        try onFile(markerPath, try FileTree.replaceDurably(markerPath, with: marker, temporary: markerPath + ".tmp"))
        if crash.reached("wrote COMPLETE") { return false }
        log("reshard \(dataDir): staged \(newWorkers) shards from \(oldWorkers); swapping")

        return try finish(dataDir: dataDir, newWorkers: newWorkers, log: log, crash: crash)
    }

    /// Links `names` into the staged store `directory`'s attachment folder and makes the links
    /// durable before the commit point. A name no old shard holds is logged and skipped: the
    /// message keeps its metadata and `get_attachment` answers `not_found`, where refusing would
    /// leave the instance unable to change its worker count at all.
    static func stageAttachments(_ names: [String], from sources: [String], into directory: String,
                                 log: (String) -> Void) throws(StoreError) {
        guard !names.isEmpty else { return }
        let files = try AttachmentStore(storeDirectory: directory, policy: .always)
        for name in names where !(try AttachmentStore.link(name, from: sources, into: files.directory)) {
            log("reshard: attachment \(name) is referenced but in no old shard; skipped")
        }
        try onFile(files.directory, try FileIO.fsyncDirectory(files.directory))
    }

    /// Brings `dataDir` to a consistent layout after a crash: removes an uncommitted staging
    /// area or finishes a committed swap. Call it at startup before opening any shard.
    public static func recover(dataDir: String, log: (String) -> Void = { _ in }) throws(StoreError) {
        _ = try recover(dataDir: dataDir, log: log, crash: .never)
    }

    static func recover(dataDir: String, log: (String) -> Void, crash: CrashPoint) throws(StoreError) -> Bool {
        let staging = dataDir + "/" + stagingName
        let old = dataDir + "/" + oldName
        guard FileTree.isDirectory(staging) else {
            if FileTree.exists(old) {
                // .reshard-old is deleted before the staging directory, so this cannot happen
                // by a crash; the old shards may be the only copy of something, so stop.
                throw .inconsistent(path: old, reason: "old shards left without a staging directory; inspect by hand")
            }
            return true
        }
        let markerPath = staging + "/" + markerName
        guard let marker = try onFile(markerPath, try FileIO.readFile(markerPath)) else {
            if FileTree.exists(old) {
                throw .inconsistent(path: old, reason: "old shards moved aside without a COMPLETE marker; inspect by hand")
            }
            log("reshard \(dataDir): removing an incomplete staging area; the old layout stays")
            try onFile(staging, try FileTree.removeTree(staging))
            try onFile(dataDir, try FileIO.fsyncDirectory(dataDir))
            return true
        }
        guard let workers = Layout.positiveInt(in: marker, key: "workers") else {
            throw .inconsistent(path: markerPath, reason: "unreadable COMPLETE marker")
        }
        log("reshard \(dataDir): finishing a committed reshard to \(workers) workers")
        return try finish(dataDir: dataDir, newWorkers: workers, log: log, crash: crash)
    }

    /// Steps 4 to 6, idempotent so that `recover` can rerun them after a crash at any point.
    static func finish(dataDir: String, newWorkers: Int, log: (String) -> Void, crash: CrashPoint) throws(StoreError) -> Bool {
        let staging = dataDir + "/" + stagingName
        let old = dataDir + "/" + oldName
        try onFile(old, try FileTree.makeDirectories(old))

        // Step 4a: move the old shards aside.
        for name in try onFile(dataDir, try FileTree.list(dataDir)) {
            guard let shard = parseShardName(name) else { continue }
            guard shard >= newWorkers || FileTree.exists(staging + "/" + name) else { continue }
            try onFile(dataDir + "/" + name, try FileIO.rename(from: dataDir + "/" + name, to: old + "/" + name))
            if crash.reached("moved old \(name) aside") { return false }
        }
        try onFile(old, try FileIO.fsyncDirectory(old))
        try onFile(dataDir, try FileIO.fsyncDirectory(dataDir))

        // Step 4b: move the new shards in.
        for shard in 0..<newWorkers {
            let name = "shard-\(shard)"
            guard FileTree.exists(staging + "/" + name) else { continue }
            try onFile(staging + "/" + name, try FileIO.rename(from: staging + "/" + name, to: dataDir + "/" + name))
            if crash.reached("moved new \(name) in") { return false }
        }
        try onFile(staging, try FileIO.fsyncDirectory(staging))
        try onFile(dataDir, try FileIO.fsyncDirectory(dataDir))

        // Step 5. The layout read here is the old one or, after a crash past this step, the new
        // one: both state the same slot count (`run` refused to start without a layout).
        guard let slots = try Layout.read(dataDir: dataDir)?.slots else {
            throw .inconsistent(path: dataDir + "/" + Layout.fileName, reason: "missing: the data's slot count is unknown")
        }
        try Layout.write(Layout(workers: newWorkers, slots: slots), dataDir: dataDir)
        if crash.reached("wrote layout.json") { return false }

        // Step 6: old data first, the marker last but one, so a partial cleanup is still recognised.
        try onFile(old, try FileTree.removeTree(old))
        if crash.reached("removed \(oldName)") { return false }
        try onFile(staging + "/" + markerName, try FileIO.unlink(staging + "/" + markerName))
        if crash.reached("removed COMPLETE") { return false }
        try onFile(staging, try FileTree.removeTree(staging))
        try onFile(dataDir, try FileIO.fsyncDirectory(dataDir))
        log("reshard \(dataDir): now \(newWorkers) shards")
        return true
    }

    /// `shard-<k>` -> k.
    static func parseShardName(_ name: String) -> Int? {
        guard name.hasPrefix("shard-") else { return nil }
        let digits = name.dropFirst("shard-".count)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }
}
