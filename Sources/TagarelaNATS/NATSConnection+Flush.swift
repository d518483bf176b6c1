// NATSConnection+Flush: a PING/PONG round trip that confirms the server has processed everything sent before it.
import TagarelaEventLoop

/// Flushes waiting for their PONG. The server answers PINGs in order, so `inFlight` lists what
/// each outstanding PING is for: a flush id, or nil for a keepalive PING.
struct FlushTable {
    struct Waiting {
        let completion: (Bool) -> Void
        let timer: TimerHandle
    }
    var waiting: [UInt64: Waiting] = [:]
    var inFlight: [UInt64?] = []
    /// Flushes asked while disconnected, or whose PING was lost with a connection: sent after
    /// the next handshake (behind the re-sent subscriptions and the held publishes).
    var afterConnect: [UInt64] = []
    var next: UInt64 = 0

    mutating func pongArrived() {
        guard !inFlight.isEmpty else { return }
        if let id = inFlight.removeFirst(), let entry = waiting.removeValue(forKey: id) {
            entry.timer.cancel()
            entry.completion(true)
        }
    }

    mutating func connectionLost() {
        afterConnect = inFlight.compactMap { $0 }.filter { waiting[$0] != nil } + afterConnect
        inFlight = []
    }

    mutating func takeAfterConnect() -> [UInt64] {
        let ids = afterConnect.filter { waiting[$0] != nil }
        afterConnect = []
        return ids
    }

    mutating func failAll() {
        let all = waiting
        waiting = [:]
        inFlight = []
        afterConnect = []
        for (_, entry) in all.sorted(by: { $0.key < $1.key }) {
            entry.timer.cancel()
            entry.completion(false)
        }
    }
}

extension NATSConnection {
    /// Calls `completion(true)` once a server has processed everything this connection sent
    /// before (its subscriptions are active, its publishes routed): a PING answered by PONG.
    /// While disconnected the PING waits for the next handshake. `false` after `timeoutMs`, or
    /// when the connection is closed. Use it before announcing that a subscriber is ready.
    public func flush(timeoutMs: Int64, _ completion: @escaping (Bool) -> Void) {
        flushes.next += 1
        let id = flushes.next
        let timer = loop.schedule(afterMs: timeoutMs) { [weak self] in
            guard let entry = self?.flushes.waiting.removeValue(forKey: id) else { return }
            entry.completion(false)
        }
        flushes.waiting[id] = FlushTable.Waiting(completion: completion, timer: timer)
        if isConnected {
            sendFlushPing(id)
        } else {
            flushes.afterConnect.append(id)
        }
    }

    func sendFlushPing(_ id: UInt64) {
        NATSEncoder.ping(into: &out)
        flushes.inFlight.append(id)
    }
}
