// NATSClusterKeyValueTests: a replicated (R3) bucket and a lease in a 3-node cluster keep working when a node is killed.
import Foundation
import TagarelaJSON
import TagarelaNATS
import TagarelaSystem
import TestSupport
import XCTest

final class NATSClusterKeyValueTests: XCTestCase {
    /// Kill the node the client is connected to: after the reconnect (and, if that node led the
    /// stream, a new stream leader) reads and conditional writes work again, with the data kept.
    func testReplicatedBucketSurvivesTheLossOfANode() throws {
        let (cluster, loop) = try natsServerAndLoop(clusterSize: 3)
        defer { loop.stop(); cluster.stop() }
        let client = loop.connected(cluster.urlList)
        let kv = replicatedBucket(loop, client, "layout", ttlMs: nil)
        // Right after the stream is made its subjects may have no responders for a moment: the
        // key-value writes ride that out (NATSLimits.jetStreamPublishRetries).
        guard let bucket = kv, let created = kvWrite(loop, { done in bucket.create("shards", Array("4".utf8), done) }),
              case .success(let rev) = created else {
            return XCTFail("create failed")
        }
        cluster.kill(node: 0)
        let start = Clock.monotonicMs()
        var value: [UInt8]?
        loop.waitUntil(timeoutMs: 20_000, what: "read after the node loss") {
            bucket.get("shards") { if case .success(let e?) = $0 { value = e.value } }
            return value != nil
        }
        XCTAssertEqual(value, Array("4".utf8))
        var written: UInt64?
        loop.waitUntil(timeoutMs: 20_000, what: "write after the node loss") {
            bucket.update("shards", Array("5".utf8), revision: rev) { if case .success(let r) = $0 { written = r } }
            return written != nil
        }
        print("R3 bucket usable again \(Clock.monotonicMs() - start) ms after the node was killed")
    }
}

extension NATSClusterKeyValueTests {
    /// Bucket `name` with three replicas, asked for until it is made (a new cluster's JetStream
    /// may not place an R3 stream at once); nil, and a test failure, after 15 s.
    func replicatedBucket(_ loop: NATSTestLoop, _ client: Recorder, _ name: String, ttlMs: Int64?) -> NATSKeyValue? {
        var kv: NATSKeyValue?
        loop.waitUntil(timeoutMs: 15_000, what: "R3 bucket made") {
            if kv != nil { return true }
            NATSKeyValue.ensure(connection: client.connection, bucket: name, ttlMs: ttlMs, replicas: 3) { if case .success(let b) = $0 { kv = b } }
            return false
        }
        return loop.sync { kv } ?? nil
    }

    /// Kill the node that leads the lease bucket's stream: with a TTL longer than the cluster's
    /// failover (a new stream leader in 4-9 s), the holder keeps the lease and renews again.
    func testLeaseSurvivesTheLossOfTheStreamLeader() throws {
        let (cluster, loop) = try natsServerAndLoop(clusterSize: 3)
        defer { loop.stop(); cluster.stop() }
        let client = loop.connected(cluster.urlList)
        let kv = replicatedBucket(loop, client, "owners", ttlMs: 20_000)
        guard let bucket = kv else { return }
        let lease = loop.lease(bucket, "shard-0", owner: "host-a")
        var lost: [String] = []
        loop.sync { lease.onLost = { lost.append($0) } }
        XCTAssertNotNil(try? loop.acquire(lease)?.get())
        var leader: String?
        loop.sync {
            client.connection.request("$JS.API.STREAM.INFO.KV_owners", payload: [], timeoutMs: 2000) { r in
                leader = (try? r.get()).flatMap { try? JSON.parse($0.payload) }?["cluster"]?["leader"]?.string
            }
        }
        loop.waitUntil { leader != nil }
        guard let index = cluster.nodes.firstIndex(where: { $0.name == leader }) else { return XCTFail("leader \(leader ?? "?")") }
        let before = loop.sync { bucket }!
        var revisionBefore: UInt64?
        loop.sync { before.get("shard-0") { revisionBefore = (try? $0.get())??.revision } }
        loop.waitUntil { revisionBefore != nil }
        cluster.kill(node: index)
        var renewedAfter = false
        loop.waitUntil(timeoutMs: 20_000, what: "a renewal confirmed after the leader's loss") {
            bucket.get("shard-0") { if let r = (try? $0.get())??.revision, r > revisionBefore! { renewedAfter = true } }
            return renewedAfter || !lost.isEmpty
        }
        loop.sync {
            XCTAssertEqual(lost, [])
            XCTAssertTrue(lease.isHeld)
        }
    }
}
