// LogLines: the log lines a test's gateway or workers write from their own threads, read by the test.
import Foundation

/// Lines appended from any thread (a config's `log` closure), read whole by the test.
public final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    public init() {}

    public func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }

    public var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
