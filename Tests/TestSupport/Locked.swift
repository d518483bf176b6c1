// Locked: one value that a test's own threads share (a helper thread writes, the test reads after joining it).
import Foundation

/// A value behind a lock, for a test that hands work to a thread of its own and reads what the
/// thread left (an error, a count) after waiting for it. The lock is what makes sharing it safe.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    public init(_ value: Value) { stored = value }

    public var value: Value {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
