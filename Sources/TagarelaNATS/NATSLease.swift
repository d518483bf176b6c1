// NATSLease: exclusive ownership of one key of a TTL bucket, renewed while held, fenced so its holder stops before anyone else can take it.
import TagarelaCrypto
import TagarelaEventLoop

/// Why `acquire` did not get the lease.
public enum NATSLeaseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another owner holds it (its owner id, as stored in the key).
    case heldBy(String)
    /// The bus did not answer, or answered an error.
    case failed(NATSKVError)

    public var description: String {
        switch self {
        case .heldBy(let owner): return "held by \(owner)"
        case .failed(let error): return "\(error)"
        }
    }
}

/// A lease on `key` in a bucket whose entries expire after `ttlMs` (`NATSKeyValue.ensure` with
/// that TTL). The value stored is `owner id` + newline + a nonce of this acquisition.
///
/// Acquire: create the key; or, when it holds our own owner id (a restart of the same owner),
/// update it at its revision; an expired key is gone from the stream, so creating it succeeds.
/// Renew every ttl/3 by updating at the last revision we wrote.
///
/// Fencing: the key expires `ttlMs` after the server stored it, which is after we sent the
/// write, so our claim is safe until (send time of the last confirmed write) + ttl. `onLost`
/// fires when that point minus `marginMs` passes unconfirmed, or at once when a renewal is
/// refused (the revision moved: someone else wrote the key). A renewal that merely gets no
/// answer (a reconnect in progress) is retried at the next tick, as long as the deadline
/// allows. After `onLost` the holder must stop serving; it may `acquire` again later.
public final class NATSLease {
    public let kv: NATSKeyValue
    public let key: String
    public let owner: String
    public let ttlMs: Int64
    public let marginMs: Int64
    /// Called once per loss, on the loop, with the reason.
    public var onLost: ((String) -> Void)?

    /// A renewal that got no answer is tried again after this (or ttl/3 if sooner): short enough
    /// that a bus back after a failover is used at once, long enough not to flood a sick one.
    public static let retryAfterFailureMs: Int64 = 500

    public private(set) var isHeld = false
    private var revision: UInt64 = 0
    /// What this acquisition stores: `owner\nnonce`.
    private var value: [UInt8] = []
    private var generation = 0
    private var renewTimer: TimerHandle?
    private var fenceTimer: TimerHandle?
    private var renewing = false

    /// `marginMs` defaults to a fifth of the TTL (clock rate differences and the time to stop serving).
    public init(kv: NATSKeyValue, key: String, owner: String, marginMs: Int64? = nil) {
        guard let ttl = kv.ttlMs, ttl > 0 else { preconditionFailure("a lease needs a bucket with a TTL") }
        precondition(!owner.isEmpty)
        self.kv = kv
        self.key = key
        self.owner = owner
        self.ttlMs = ttl
        self.marginMs = marginMs ?? ttl / 5
        precondition(self.marginMs < ttl - ttl / 3, "the margin must leave time for a renewal")
    }

    private var loop: EventLoop { kv.connection.loop }

    /// Tries once to take the lease; on success renewing starts.
    public func acquire(_ completion: @escaping (Result<Void, NATSLeaseError>) -> Void) {
        acquire(attemptsLeft: 3, completion)
    }

    /// `attemptsLeft` bounds the retries when the key expires between our create and our look.
    private func acquire(attemptsLeft: Int, _ completion: @escaping (Result<Void, NATSLeaseError>) -> Void) {
        precondition(!isHeld, "acquire while held")
        let sentMs = loop.nowMs
        // A fresh nonce per acquisition: a renewal can tell our own write (whose answer was
        // lost) from a restarted process with the same owner id.
        let value = Array("\(owner)\n\(hexString(SecureRandom.bytes(count: 8)))".utf8)
        kv.create(key, value) { result in
            switch result {
            case .success(let revision):
                self.start(revision: revision, value: value, confirmedSentMs: sentMs)
                completion(.success(()))
            case .failure(.exists):
                self.kv.get(self.key) { current in
                    switch current {
                    case .success(let entry?) where NATSLease.owner(of: entry.value) == self.owner:
                        // Our own id (this owner restarted): take it back at its revision.
                        let again = self.loop.nowMs
                        self.kv.update(self.key, value, revision: entry.revision) { updated in
                            switch updated {
                            case .success(let revision):
                                self.start(revision: revision, value: value, confirmedSentMs: again)
                                completion(.success(()))
                            case .failure(.wrongRevision): completion(.failure(.heldBy("another owner (it changed meanwhile)")))
                            case .failure(let error): completion(.failure(.failed(error)))
                            }
                        }
                    case .success(let entry?): completion(.failure(.heldBy(NATSLease.owner(of: entry.value))))
                    case .success(nil) where attemptsLeft > 1:  // expired between the two calls
                        self.acquire(attemptsLeft: attemptsLeft - 1, completion)
                    case .success(nil): completion(.failure(.heldBy("another owner (the key keeps changing)")))
                    case .failure(let error): completion(.failure(.failed(error)))
                    }
                }
            case .failure(let error): completion(.failure(.failed(error)))
            }
        }
    }

    /// Stops renewing and deletes the key if still ours, so another owner need not wait the TTL.
    public func release() {
        guard isHeld else { return }
        stop()
        kv.delete(key, revision: revision) { _ in }  // only if nobody wrote it since
    }

    /// The owner id in a stored value (`owner\nnonce`).
    static func owner(of value: [UInt8]) -> String {
        let text = String(decoding: value, as: UTF8.self)
        guard let newline = text.lastIndex(of: "\n") else { return text }
        return String(text[..<newline])
    }

    private func start(revision: UInt64, value: [UInt8], confirmedSentMs: Int64) {
        isHeld = true
        generation += 1
        self.revision = revision
        self.value = value
        armFence(confirmedSentMs: confirmedSentMs)
        scheduleRenewal()
    }

    private func stop() {
        isHeld = false
        generation += 1
        renewTimer?.cancel()
        fenceTimer?.cancel()
        renewTimer = nil
        fenceTimer = nil
        renewing = false
    }

    private func lose(_ reason: String) {
        guard isHeld else { return }
        stop()
        onLost?("lease \(key) lost: \(reason)")
    }

    private func armFence(confirmedSentMs: Int64) {
        fenceTimer?.cancel()
        let deadline = confirmedSentMs + ttlMs - marginMs
        fenceTimer = loop.schedule(afterMs: deadline - loop.nowMs) { [weak self] in
            self?.lose("not renewed within \(self?.ttlMs ?? 0) ms minus a \(self?.marginMs ?? 0) ms margin")
        }
    }

    /// A renewal found the revision moved. If the key holds exactly our value (owner and nonce),
    /// the move was our own earlier renewal whose answer was lost (a timeout in a failover): adopt
    /// its revision and go on; the fence stays where the last confirmed renewal put it, since
    /// when that write landed is unknown. Anything else means someone else wrote the key.
    private func checkOwnWrite(generation: Int, current: UInt64?) {
        renewing = true
        kv.get(key) { [weak self] result in
            guard let self, self.generation == generation else { return }
            self.renewing = false
            switch result {
            case .success(let entry?) where entry.value == self.value:
                self.revision = entry.revision
            case .success(let entry):
                let by = entry.map { NATSLease.owner(of: $0.value) } ?? "nobody (deleted or expired)"
                self.lose("the key was written by someone else (revision \(current.map(String.init) ?? "?"), now \(by))")
            case .failure:
                break  // no answer: the next renewal asks again; the fence still stands
            }
        }
    }

    private func scheduleRenewal() {
        renewTimer = loop.schedule(afterMs: ttlMs / 3) { [weak self] in self?.renew() }
    }

    private func renew() {
        guard isHeld else { return }
        scheduleRenewal()
        if renewing { return }  // the previous renewal is still waiting for its answer
        renewing = true
        let generation = self.generation
        let sentMs = loop.nowMs
        kv.update(key, value, revision: revision) { [weak self] result in
            guard let self, self.generation == generation else { return }
            self.renewing = false
            switch result {
            case .success(let revision):
                self.revision = revision
                self.armFence(confirmedSentMs: sentMs)
            case .failure(.wrongRevision(let current)):
                self.checkOwnWrite(generation: generation, current: current)
            case .failure(.api(_, _, let text)):
                self.lose("the bus refused the renewal: \(text)")
            case .failure:
                // No answer (a reconnect, a stream leader election): try again soon rather than
                // at the next tick, so the first answer after the bus recovers renews; the fence
                // fires if none is confirmed in time.
                self.renewTimer?.cancel()
                self.renewTimer = self.loop.schedule(afterMs: min(self.ttlMs / 3, NATSLease.retryAfterFailureMs)) { [weak self] in
                    self?.renew()
                }
            }
        }
    }
}
