// WorkerStats: what a worker reports about itself when the gateway asks (the stats link frames), for the gateway's /metrics.

/// One worker's numbers at one moment, the payload of `LinkFrame.stats`. Names are the
/// metric names without the `tagarela_` prefix (`WorkerStats.Name`); whether a value is a
/// gauge or a counter is the gateway renderer's table, so the frame stays a plain list and a
/// newer worker may add names an older gateway skips.
public struct WorkerStats: Equatable, Sendable {
    /// One named integer.
    public struct Value: Equatable, Sendable {
        public var name: String
        public var value: Int64
        public init(_ name: String, _ value: Int64) { self.name = name; self.value = value }
    }

    /// One named histogram.
    public struct NamedHistogram: Equatable, Sendable {
        public var name: String
        public var histogram: Histogram
        public init(_ name: String, _ histogram: Histogram) { self.name = name; self.histogram = histogram }
    }

    /// The nonce of the `statsRequest` this answers.
    public var nonce: UInt64
    public var values: [Value]
    public var histograms: [NamedHistogram]

    public init(nonce: UInt64, values: [Value] = [], histograms: [NamedHistogram] = []) {
        self.nonce = nonce
        self.values = values
        self.histograms = histograms
    }

    /// The value named `name`, if the worker sent it.
    public func value(_ name: String) -> Int64? { values.first { $0.name == name }?.value }

    /// The histogram named `name`, if the worker sent it.
    public func histogram(_ name: String) -> Histogram? { histograms.first { $0.name == name }?.histogram }

    /// The names a worker sends today (both ends use these constants).
    public enum Name {
        public static let users = "shard_users"
        public static let chats = "shard_chats"
        public static let messages = "shard_messages"
        public static let sessions = "shard_sessions"
        public static let journalBytes = "shard_journal_bytes"
        public static let compactions = "shard_compactions_total"
        public static let starts = "shard_starts_total"
        public static let commits = "shard_commits_total"
        public static let commitSeconds = "shard_commit_duration_seconds"
        public static let fdatasyncSeconds = "shard_fdatasync_duration_seconds"
        public static let commitRecords = "shard_commit_records"
        public static let compactionSeconds = "shard_compaction_duration_seconds"
    }
}
