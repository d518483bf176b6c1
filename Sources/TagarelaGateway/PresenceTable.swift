// PresenceTable: the gateway-wide count of authenticated connections per user, shared by every loop.
import Foundation

/// Which users are online: user id -> number of authenticated connections, on any loop.
///
/// Every loop updates it when a connection binds to a user or goes away, and `get_presence`
/// reads it, so it is the one piece of state the loops share; a mutex is enough because a
/// change is a dictionary update and happens once per login or disconnect, not per message.
public final class PresenceTable: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    public init() {}

    /// Records one more authenticated connection of `userID`.
    public func connect(_ userID: String) {
        lock.lock()
        counts[userID, default: 0] += 1
        lock.unlock()
    }

    /// Records that one authenticated connection of `userID` ended (closed, logged out or rebound).
    public func disconnect(_ userID: String) {
        lock.lock()
        if let n = counts[userID] {
            if n <= 1 { counts[userID] = nil } else { counts[userID] = n - 1 }
        }
        lock.unlock()
    }

    /// True when `userID` has at least one authenticated connection.
    public func isOnline(_ userID: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return counts[userID] != nil
    }

    /// The online state of each id, looked up under one lock.
    public func states(_ userIDs: [String]) -> [Bool] {
        lock.lock()
        defer { lock.unlock() }
        return userIDs.map { counts[$0] != nil }
    }

    /// How many connections `userID` has (for tests and metrics).
    public func connectionCount(_ userID: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return counts[userID] ?? 0
    }

    /// Number of distinct online users.
    public var onlineUsers: Int {
        lock.lock()
        defer { lock.unlock() }
        return counts.count
    }
}
