// ClusterLayout: the cluster's shard count and slot map kept in the bus: stored by the first worker, read by gateways, checked by every worker.
import TagarelaLink
import TagarelaNATS

/// The layout of a cluster's data (PROTOCOL.md 3.8): how many shards, over how many slots
/// (`slot % shards`, TagarelaLink's `Slots`). Kept under key `layout` of the bucket
/// `tagarela_C_layout` (entries never expire), as `{"shards":N,"slots":1024}`: the first worker
/// of a cluster creates it; a worker started for another layout refuses; a gateway takes its
/// shard count from it, so no gateway flag can disagree.
public struct ClusterLayout: Equatable, Sendable {
    public var shards: Int
    public var slots: Int

    public init(shards: Int, slots: Int = Slots.count) {
        self.shards = shards
        self.slots = slots
    }

    var encoded: [UInt8] { Array("{\"shards\":\(shards),\"slots\":\(slots)}".utf8) }

    static func decode(_ bytes: [UInt8]) -> ClusterLayout? {
        let text = String(decoding: bytes, as: UTF8.self)
        func field(_ name: String) -> Int? {
            guard let range = text.range(of: "\"\(name)\":") else { return nil }
            return Int(text[range.upperBound...].prefix { $0.isNumber })
        }
        guard let shards = field("shards"), shards >= 1, let slots = field("slots"), slots >= 1 else { return nil }
        return ClusterLayout(shards: shards, slots: slots)
    }

    /// Replicas of the cluster's buckets: three when the server list names three servers or
    /// more (a NATS cluster: the layout survives the loss of a node), else one (a lone server,
    /// where JetStream refuses more replicas than servers).
    public static func replicas(_ settings: BusSettings) -> Int {
        (settings.nats?.servers.count ?? 1) >= 3 ? 3 : 1
    }

    /// The layout stored in the bus, or nil when no worker of the cluster has started yet.
    public static func read(_ settings: BusSettings) throws -> ClusterLayout? {
        try BusStartup.run(settings, name: "tagarela-layout") { connection, done in
            ensureBucket(connection, settings) { kv in
                kv.get(BusSubjects.layoutKey) { result in
                    switch result {
                    case .success(let entry?):
                        guard let layout = decode(entry.value) else {
                            return done(.failure(BusConfigError("the layout stored in the bus is unreadable: \(String(decoding: entry.value, as: UTF8.self))")))
                        }
                        done(.success(layout))
                    case .success(nil): done(.success(nil))
                    case .failure(let error): done(.failure(BusConfigError("reading the cluster layout failed: \(error)")))
                    }
                }
            } failed: { done(.failure($0)) }
        }
    }

    /// Stores `layout` if the cluster has none; returns the layout the bus holds (ours, or the
    /// one another worker stored first).
    public static func claim(_ layout: ClusterLayout, _ settings: BusSettings) throws -> ClusterLayout {
        try BusStartup.run(settings, name: "tagarela-layout") { connection, done in
            ensureBucket(connection, settings) { kv in
                kv.create(BusSubjects.layoutKey, layout.encoded) { created in
                    switch created {
                    case .success: done(.success(layout))
                    case .failure(.exists):
                        kv.get(BusSubjects.layoutKey) { current in
                            switch current {
                            case .success(let entry?):
                                guard let stored = decode(entry.value) else {
                                    return done(.failure(BusConfigError("the layout stored in the bus is unreadable")))
                                }
                                done(.success(stored))
                            case .success(nil): done(.failure(BusConfigError("the cluster layout vanished while it was read; try again")))
                            case .failure(let error): done(.failure(BusConfigError("reading the cluster layout failed: \(error)")))
                            }
                        }
                    case .failure(let error): done(.failure(BusConfigError("storing the cluster layout failed: \(error)")))
                    }
                }
            } failed: { done(.failure($0)) }
        }
    }

    private static func ensureBucket(_ connection: NATSConnection, _ settings: BusSettings,
                                     _ then: @escaping (NATSKeyValue) -> Void, failed: @escaping (BusConfigError) -> Void) {
        ShardLease.ensureBucket(connection, bucket: settings.subjects.layoutBucket, ttlMs: nil, replicas: replicas(settings),
                                what: "the cluster layout", then, failed: failed)
    }
}
