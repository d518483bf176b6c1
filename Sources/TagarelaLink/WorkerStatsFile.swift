// WorkerStatsFile: where a worker publishes the counts only it knows (corrupt journal records) for the gateway's /metrics, and their text format.

/// A worker learns some facts about its shard only at startup, when it opens its store: the
/// number of corrupt journal records recovery has cut and kept in side files. It writes them to
/// `worker-K.stats` beside its socket (`worker-K.sock`, in the run folder both processes
/// share), and the gateway reads that file when it renders `/metrics`. A file rather than a link
/// frame: the facts change only when the worker restarts, and a gateway or worker of another
/// version simply finds no file (or ignores it) instead of meeting an unknown frame type.
///
/// Format: one `name value` line per counter, `value` a non-negative integer. Unknown names are
/// ignored, so a newer worker may add lines.
public enum WorkerStatsFile {
    /// Counter: journal records with a bad checksum cut at startup whose bytes are kept in side
    /// files in the shard folder (until an operator removes those files).
    public static let journalCorruptRecords = "journal_corrupt_records"

    /// The stats file of the worker listening on `socketPath`: `.sock` replaced by `.stats`.
    public static func path(forSocket socketPath: String) -> String {
        let suffix = ".sock"
        if socketPath.hasSuffix(suffix) { return String(socketPath.dropLast(suffix.count)) + ".stats" }
        return socketPath + ".stats"
    }

    /// The file's text for `counters` (name, value), one line each.
    public static func encode(_ counters: [(String, Int)]) -> String {
        counters.map { "\($0.0) \($0.1)\n" }.joined()
    }

    /// The counters in `text`; malformed lines are skipped (the file is advisory).
    public static func decode(_ text: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Int(parts[1]), value >= 0 else { continue }
            out[String(parts[0])] = value
        }
        return out
    }
}
