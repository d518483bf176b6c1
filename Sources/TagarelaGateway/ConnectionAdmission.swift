// ConnectionAdmission: the gateway-wide bounds on open client connections, in total and per client IP.
import Foundation

/// Counts open client connections across every loop and refuses new ones past the limits
/// (PROTOCOL.md 2.5 "connections per client IP and in total"), so one host cannot take every
/// file descriptor. Accepts are rare next to messages, so a mutex costs nothing that matters.
public final class ConnectionAdmission: @unchecked Sendable {
    private let lock = NSLock()
    private let maxTotal: Int
    private let maxPerIP: Int
    private var total = 0
    private var perIP: [String: Int] = [:]

    /// `maxTotal` and `maxPerIP` bound the connections; 0 means no bound.
    public init(maxTotal: Int, maxPerIP: Int) {
        self.maxTotal = maxTotal
        self.maxPerIP = maxPerIP
    }

    /// The address part of a peer string such as `127.0.0.1:5050` or `[::1]:5050`.
    public static func host(ofPeer peer: String) -> String {
        if peer.hasPrefix("["), let end = peer.firstIndex(of: "]") {
            return String(peer[peer.index(after: peer.startIndex)..<end])
        }
        // One colon: IPv4 with a port. More than one: a bare IPv6 address.
        if let colon = peer.lastIndex(of: ":"), peer.firstIndex(of: ":") == colon {
            return String(peer[..<colon])
        }
        return peer
    }

    /// Takes a slot for a connection from `host`; false when a limit is reached.
    public func admit(host: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if maxTotal > 0 && total >= maxTotal { return false }
        let n = perIP[host] ?? 0
        if maxPerIP > 0 && n >= maxPerIP { return false }
        total += 1
        perIP[host] = n + 1
        return true
    }

    /// Gives back the slot taken by `admit(host:)`.
    public func release(host: String) {
        lock.lock()
        defer { lock.unlock() }
        total -= 1
        if let n = perIP[host] {
            if n <= 1 { perIP[host] = nil } else { perIP[host] = n - 1 }
        }
    }

    /// Open connections right now.
    public var openConnections: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }
}
