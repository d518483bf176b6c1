// BusSubjects: the subjects and key-value names of one Tagarela cluster on the bus, and the checks on a cluster name.

/// Every name a cluster uses on the bus, under its cluster name (`--cluster`, default
/// `tagarela`), so two deployments can share one bus (PROTOCOL.md 3.8):
///
/// - `C.shard.K`: link frames for shard K (requests, subscribe/unsubscribe, pings), each message
///   with the reply subject of the gateway loop that sent it;
/// - `C.gw.G.L.K`: link frames from shard K's worker for loop L of gateway G (replies, events,
///   pongs), so the loop learns which worker spoke from the last token;
/// - key-value bucket `tagarela_C_layout` (no expiry): key `layout`, the number of shards;
/// - key-value bucket `tagarela_C_lease` (entries expire): key `shard-K`, the owner of shard K.
public struct BusSubjects: Sendable, Equatable {
    public let cluster: String

    /// nil when `cluster` cannot be a subject token and a bucket name at once.
    public init?(cluster: String) {
        guard BusSubjects.isValidCluster(cluster) else { return nil }
        self.cluster = cluster
    }

    /// 1 to 32 letters, digits, `-` or `_`: a single subject token that is also valid inside a
    /// key-value bucket name (NATS allows only those characters there).
    public static func isValidCluster(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 32 else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        }
    }

    /// Where shard K's worker listens.
    public func shard(_ k: Int) -> String { "\(cluster).shard.\(k)" }

    /// The inbox of loop `loop` of gateway `gateway` (a random token per gateway process).
    public func loopInbox(gateway: String, loop: Int) -> String { "\(cluster).gw.\(gateway).\(loop)" }

    /// Where shard K's worker answers that loop.
    public func reply(inbox: String, shard k: Int) -> String { "\(inbox).\(k)" }

    /// The shard number a message on `subject` under `inbox` came from; nil for anything else.
    public static func shard(ofReply subject: String, inbox: String) -> Int? {
        guard subject.utf8.count > inbox.utf8.count + 1, subject.hasPrefix(inbox + ".") else { return nil }
        let tail = subject.utf8.dropFirst(inbox.utf8.count + 1)
        guard !tail.isEmpty, tail.count <= 6, tail.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(String(decoding: tail, as: UTF8.self))
    }

    /// The bucket holding the cluster's layout.
    public var layoutBucket: String { "tagarela_\(cluster)_layout" }
    /// The bucket holding the shard leases.
    public var leaseBucket: String { "tagarela_\(cluster)_lease" }
    /// The lease key of shard K.
    public func leaseKey(_ k: Int) -> String { "shard-\(k)" }
    public static let layoutKey = "layout"
}
