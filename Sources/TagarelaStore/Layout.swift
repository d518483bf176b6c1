// Layout: the data directory's layout.json, recording how many workers the shards are split for.
import TagarelaJSON
import TagarelaSystem

/// `DIR/layout.json`: `{"workers": N, "slots": S}`. Written only by resharding (and by the
/// supervisor on first start); read at startup so a worker never serves a partition made for
/// another worker count.
///
/// The slot count is the data's fact, not the store's: the store never chooses one. The
/// worker writes the first layout with `Slots.count` (TagarelaLink, the one definition) and
/// refuses data whose layout states another; a reshard carries the count over unchanged.
public struct Layout: Equatable {
    /// The file name inside the data directory.
    public static let fileName = "layout.json"

    /// The number of workers (and `shard-K` directories) the data is partitioned for.
    public var workers: Int
    /// The number of hash slots the partition uses.
    public var slots: Int

    /// Creates a layout.
    public init(workers: Int, slots: Int) {
        self.workers = workers
        self.slots = slots
    }

    /// The layout in `dataDir`, or nil when the directory has none yet.
    public static func read(dataDir: String) throws(StoreError) -> Layout? {
        let path = dataDir + "/" + fileName
        guard let bytes = try onFile(path, try FileIO.readFile(path)) else { return nil }
        guard let workers = positiveInt(in: bytes, key: "workers"), let slots = positiveInt(in: bytes, key: "slots") else {
            throw .inconsistent(path: path, reason: "expected {\"workers\": N, \"slots\": S} with positive integers")
        }
        return Layout(workers: workers, slots: slots)
    }

    /// Replaces `dataDir/layout.json` atomically and durably (temp file, fsync, rename, fsync dir).
    public static func write(_ layout: Layout, dataDir: String) throws(StoreError) {
        precondition(layout.workers > 0 && layout.slots > 0, "layout needs workers and slots")
        try onFile(dataDir, try FileTree.makeDirectories(dataDir))
        let text = "{\"workers\": \(layout.workers), \"slots\": \(layout.slots)}\n"
        let path = dataDir + "/" + fileName
        try onFile(path, try FileTree.replaceDurably(path, with: Array(text.utf8), temporary: path + ".tmp"))
    }

    /// The positive integer member `key` of the JSON object in `bytes` (layout.json, the
    /// resharding marker), or nil when the bytes are not such an object.
    static func positiveInt(in bytes: [UInt8], key: String) -> Int? {
        guard let value = (try? JSON.parse(bytes))?[key]?.int, value > 0, value <= Int64(Int32.max) else { return nil }
        return Int(value)
    }
}
