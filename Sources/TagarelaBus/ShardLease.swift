// ShardLease: one owner per shard: a lease in the cluster's TTL bucket, taken before serving, renewed while serving, and the fence when it is lost.
import TagarelaNATS

/// Shard K's lease (PROTOCOL.md 3.12): key `shard-K` of the bucket `tagarela_C_lease`, whose
/// entries expire after `ttlMs`; its value is the owner id of the worker serving the shard. The
/// owner id is stable for a data folder (`ShardOwnerID`), so a restarted worker takes its own
/// lease back at once instead of waiting for it to expire.
public enum ShardLease {
    /// How long a lease lives without renewal. The owner renews every third of it and stops
    /// serving (fences) a fifth of it before it could expire (`NATSLease`); another worker can
    /// take the shard this long after the owner died. 6 s keeps a crashed worker's shard
    /// unserved for a few seconds only when a standby waits, and leaves two renewals' room for a
    /// NATS node failover (about a second) before the owner fences itself.
    public static let ttlMs: Int64 = 6_000

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
        NATSKeyValue.ensure(connection: connection, bucket: settings.subjects.leaseBucket, ttlMs: ttlMs,
                            replicas: ClusterLayout.replicas(settings)) { result in
            switch result {
            case .success(let kv): then(kv)
            case .failure(let error):
                failed(BusConfigError("the bus has no usable JetStream for the shard leases (is nats-server run with -js?): \(error)"))
            }
        }
    }
}
