// ClientWindow: clients waiting for one kind of step (a handshake, a register/login script), started a window's worth at a time.

/// A queue of clients and how many of them are in flight: the ramp starts the next waiting
/// client only while fewer than `--batch` are in flight, so the server sees at most that many
/// handshakes (or password hashes) at once, as a real crowd arriving would not all at one instant.
/// Confined to its shard's loop thread.
struct ClientWindow {
    private var waiting: [BenchClient] = []
    private var cursor = 0
    /// Started and not finished yet; the owner counts a client in once it really started.
    var inFlight = 0

    /// Clients queued since the last `restart`, started or not.
    var count: Int { waiting.count }

    /// Queues `clients` in place of whatever still waited; clients in flight stay counted.
    mutating func restart(_ clients: [BenchClient]) {
        waiting = clients
        cursor = 0
    }

    /// Queues one more client behind the others.
    mutating func append(_ client: BenchClient) {
        waiting.append(client)
    }

    /// The next waiting client, taken off the queue, while fewer than `limit` are in flight.
    mutating func next(limit: Int) -> BenchClient? {
        guard inFlight < limit, cursor < waiting.count else { return nil }
        cursor += 1
        return waiting[cursor - 1]
    }
}
