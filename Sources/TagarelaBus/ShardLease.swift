// ShardLease: one owner per shard: a lease in the cluster's TTL bucket, taken before serving, renewed while serving, and the fence when it is lost.
import TagarelaNATS

/// Shard K's lease (PROTOCOL.md 3.8): key `shard-K` of the bucket `tagarela_C_lease`, whose
/// entries expire after `ttlMs`; its value is the owner id of the worker serving the shard. The
/// owner id is stable for a data folder (`ShardOwnerID`), so a restarted worker takes its own
/// lease back at once instead of waiting for it to expire.
public enum ShardLease {
    /// How long a lease lives without renewal. The owner renews every third of it and stops
    /// serving (fences) a fifth of it before it could expire (`NATSLease`). It must outlive the
    /// loss of the NATS node leading the lease bucket's stream: the bucket is unusable until the
    /// others elect a leader, 4 to 7 s measured here (nats-client's notes), and an owner that
    /// cannot renew for that long must not fence itself. 20 s leaves 16 s of failed renewals
    /// before the fence. A restarted owner takes its lease back at once (same owner id), so the
    /// TTL is only how long a dead owner's shard waits for a different worker.
    public static let ttlMs: Int64 = 20_000

    /// Takes shard `shard`'s lease for `owner` (synchronously, at start): nil when taken, else
    /// the owner holding it. The lease taken here is renewed by the serving loop's own
    /// `NATSLease`, which takes it back at once since the owner id is the same.
    public static func take(shard: Int, owner: String, _ settings: BusSettings) throws -> String? {
        try BusStartup.run(settings, name: "tagarela-lease-\(shard)") { connection, done in
            ensure(connection, settings) { kv in
                let lease = NATSLease(kv: kv, key: settings.subjects.leaseKey(shard), owner: owner)
                lease.acquire { result in
                    switch result {
                    case .success: done(.success(nil))
                    case .failure(.heldBy(let other)): done(.success(other))
                    case .failure(.failed(let error)): done(.failure(BusConfigError("taking the lease of shard \(shard) failed: \(error)")))
                    }
                }
            } failed: { done(.failure($0)) }
        }
    }

    /// The bucket of the leases, created if absent (on the caller's connection and loop).
    public static func ensure(_ connection: NATSConnection, _ settings: BusSettings,
                              _ then: @escaping (NATSKeyValue) -> Void, failed: @escaping (BusConfigError) -> Void) {
        ensureBucket(connection, bucket: settings.subjects.leaseBucket, ttlMs: ttlMs, replicas: ClusterLayout.replicas(settings),
                     what: "the shard leases", then, failed: failed)
    }

    /// Creates or opens a bucket, trying again every 250 ms (up to 60 times, 15 s) while
    /// JetStream cannot answer yet: a cluster just started has no meta leader for a moment, and
    /// then places no replicated stream ("no suitable peers for placement") until the leader
    /// counts enough current peers, which took seconds on a loaded machine. Workers and a
    /// cluster started together (`deploy/tagarela`, systemd) wait that out instead of failing.
    static func ensureBucket(_ connection: NATSConnection, bucket: String, ttlMs: Int64?, replicas: Int, what: String,
                             attemptsLeft: Int = 60, _ then: @escaping (NATSKeyValue) -> Void,
                             failed: @escaping (BusConfigError) -> Void) {
        NATSKeyValue.ensure(connection: connection, bucket: bucket, ttlMs: ttlMs, replicas: replicas) { result in
            switch result {
            case .success(let kv): then(kv)
            case .failure(let error):
                var fatal = attemptsLeft <= 1
                if case .invalidName = error { fatal = true }
                guard fatal else {
                    connection.loop.schedule(afterMs: 250) {
                        ensureBucket(connection, bucket: bucket, ttlMs: ttlMs, replicas: replicas, what: what,
                                     attemptsLeft: attemptsLeft - 1, then, failed: failed)
                    }
                    return
                }
                failed(BusConfigError("the bus has no usable JetStream for \(what) (is nats-server run with -js?): \(error)"))
            }
        }
    }
}
