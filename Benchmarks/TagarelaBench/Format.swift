// Format: number formatting shared by progress lines and the result table.
import Foundation

/// Short human formats: `12.3k`, `4.56ms`, `1.2 MiB`.
enum Format {
    /// A count or rate with a k/M suffix.
    static func count(_ v: Double) -> String {
        if v >= 10_000_000 { return String(format: "%.1fM", v / 1e6) }
        if v >= 10_000 { return String(format: "%.1fk", v / 1e3) }
        if v >= 100 || v == v.rounded() { return String(format: "%.0f", v) }
        return String(format: "%.1f", v)
    }

    /// Microseconds as milliseconds.
    static func ms(_ us: Int64) -> String {
        let v = Double(us) / 1000
        if v >= 100 { return String(format: "%.0fms", v) }
        if v >= 10 { return String(format: "%.1fms", v) }
        return String(format: "%.2fms", v)
    }

    /// Bytes in KiB/MiB.
    static func bytes(_ b: Double) -> String {
        if abs(b) >= 1_048_576 { return String(format: "%.1f MiB", b / 1_048_576) }
        if abs(b) >= 1024 { return String(format: "%.2f KiB", b / 1024) }
        return String(format: "%.0f B", b)
    }

    /// A ratio as a percentage.
    static func percent(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
}
