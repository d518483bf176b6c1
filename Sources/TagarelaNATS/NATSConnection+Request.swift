// NATSConnection+Request: request/reply over one wildcard inbox subscription per connection, with timeouts.
import TagarelaCrypto
import TagarelaEventLoop

/// Requests waiting for their reply, by the last token of their reply subject.
struct RequestTable {
    struct Waiting {
        let completion: (Result<NATSMessage, NATSError>) -> Void
        let timer: TimerHandle
    }
    var waiting: [UInt64: Waiting] = [:]
    var next: UInt64 = 0
    /// `_INBOX.<random>`: set by the first request, with its `<prefix>.*` subscription.
    var prefix: String?

    mutating func take(_ id: UInt64) -> Waiting? {
        guard let entry = waiting.removeValue(forKey: id) else { return nil }
        entry.timer.cancel()
        return entry
    }

    mutating func failAll(_ error: NATSError) {
        let all = waiting
        waiting = [:]
        for (_, entry) in all.sorted(by: { $0.key < $1.key }) {
            entry.timer.cancel()
            entry.completion(.failure(error))
        }
    }
}

extension NATSConnection {
    /// A new unique subject under `_INBOX.` (22 random base64url characters: 132 bits, so two
    /// processes never pick the same one).
    public func newInbox() -> String {
        "_INBOX." + Base64.encodeURL(SecureRandom.bytes(count: 16))
    }

    /// Sends a request and calls `completion` once with the first reply, `.noResponders` when the
    /// server says nobody listens (status 503), `.timeout` after `timeoutMs`, `.notSent` when the
    /// publish was dropped, or `.closed`. All requests share one `<inbox>.*` subscription.
    public func request(_ subject: String, headers: [(String, String)] = [], payload: [UInt8], timeoutMs: Int64,
                        _ completion: @escaping (Result<NATSMessage, NATSError>) -> Void) {
        if requests.waiting.count >= NATSLimits.requestsInFlightMax {
            loop.execute { completion(.failure(.tooManyRequests)) }
            return
        }
        let prefix = inboxPrefix()
        requests.next += 1
        let id = requests.next
        let timer = loop.schedule(afterMs: timeoutMs) { [weak self] in
            self?.requests.take(id)?.completion(.failure(.timeout))
        }
        requests.waiting[id] = RequestTable.Waiting(completion: completion, timer: timer)
        if !publish(subject, reply: "\(prefix).\(id)", headers: headers, payload: payload) {
            let failed = requests.take(id)
            // Called from a later task, never from inside `request` (callers need not be re-entrant).
            loop.execute { failed?.completion(.failure(.notSent)) }
        }
    }

    private func inboxPrefix() -> String {
        if let prefix = requests.prefix { return prefix }
        let prefix = newInbox()
        requests.prefix = prefix
        subscribe(prefix + ".*") { [weak self] message in self?.deliverReply(message) }
        return prefix
    }

    private func deliverReply(_ message: NATSMessage) {
        guard let last = message.subject.split(separator: ".").last, let id = UInt64(last),
              let entry = requests.take(id) else { return }  // late (timed out) or foreign
        if message.status == 503 {
            entry.completion(.failure(.noResponders))
        } else {
            entry.completion(.success(message))
        }
    }
}
