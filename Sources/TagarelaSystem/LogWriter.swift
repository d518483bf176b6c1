// LogWriter: one log line per write(2) to standard error, as today's text or as a JSON object (time, level, process, event, fields).
import Glibc

/// How log lines look (`--log-format`).
public enum LogFormat: String, Sendable {
    /// `process: message`, what people read in a terminal (and every line before issue 13).
    case text
    /// One JSON object per line: `time` (UTC, ISO 8601 with milliseconds), `level`, `process`,
    /// `event`, then the event's fields; what a log pipeline (journald, Loki, jq) parses.
    case json
}

/// A line's severity.
public enum LogLevel: String, Sendable {
    case info, warn, error
}

/// A field's value: numbers stay numbers in JSON.
public enum LogField: Sendable, Equatable {
    case string(String)
    case int(Int64)
}

/// Writes log lines for one process. A value (its settings only), safe on every thread: each
/// line is a single `write` to descriptor 2, which the kernel keeps whole when the log is a file
/// opened for appending (the supervisor's `>>`) or a pipe (lines under PIPE_BUF).
///
/// What a line may carry is the caller's promise: no event carries a token or a password (the
/// gateway and worker log ids, sizes, durations and reasons, never request bodies).
public struct LogWriter: Sendable {
    public let process: String
    public let format: LogFormat
    /// Where lines go; tests capture them.
    private let sink: @Sendable (String) -> Void

    public init(process: String, format: LogFormat, sink: (@Sendable (String) -> Void)? = nil) {
        self.process = process
        self.format = format
        self.sink = sink ?? { line in
            var bytes = Array(line.utf8)
            bytes.append(0x0A)
            _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }

    /// A free-text line (today's messages): in JSON, event `log` with the text as `message` and a
    /// level read from its words ("error", "warning"), so old lines still parse.
    public func line(_ text: String) {
        switch format {
        case .text: sink(process + ": " + text)
        case .json:
            let level: LogLevel = text.contains("error") || text.contains("failed") ? .error
                : text.contains("warning") ? .warn : .info
            sink(LogWriter.json(process: process, level: level, event: "log", fields: [("message", .string(text))]))
        }
    }

    /// A structured event: in JSON its fields, in text `message` (the line it has always been).
    public func event(_ name: String, level: LogLevel = .info, message: String, _ fields: [(String, LogField)]) {
        switch format {
        case .text: sink(process + ": " + message)
        case .json: sink(LogWriter.json(process: process, level: level, event: name, fields: fields))
        }
    }

    /// The JSON line for an event.
    static func json(process: String, level: LogLevel, event: String, fields: [(String, LogField)]) -> String {
        var out = "{\"time\":\"\(utcTimestamp(Clock.wallMs()))\",\"level\":\"\(level.rawValue)\","
        out += "\"process\":" + quoted(process) + ",\"event\":" + quoted(event)
        for (key, value) in fields {
            out += "," + quoted(key) + ":"
            switch value {
            case .string(let s): out += quoted(s)
            case .int(let n): out += String(n)
            }
        }
        return out + "}"
    }

    /// `s` as a JSON string (RFC 8259 section 7): quote, backslash and control characters escaped.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `2026-11-29T14:05:09.123Z`.
    static func utcTimestamp(_ epochMs: Int64) -> String {
        var t = time_t(epochMs / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))."
            + "\(pad(Int(epochMs % 1000), 3))Z"
    }
}
