// NATSLeaseTests: one owner at a time, takeover after the TTL, re-take by the same owner, fencing when the bus is gone.
import TagarelaNATS
import TestSupport
import XCTest

final class NATSLeaseTests: XCTestCase {
    private func bucket(_ loop: NATSTestLoop, _ client: Recorder, ttlMs: Int64) -> NATSKeyValue? {
        guard case .success(let kv)? = kvEnsure(loop, { done in
            NATSKeyValue.ensure(connection: client.connection, bucket: "owners", ttlMs: ttlMs, replicas: 1, done)
        }) else { XCTFail("ensure failed"); return nil }
        return kv
    }

    func testSecondOwnerRefusedWhileHeldThenTakesOverAfterExpiry() throws {
        let (server, loop) = try natsServerAndLoop()
        defer { loop.stop(); server.stop() }
        let a = loop.connected(server.urlList, name: "a")
        let b = loop.connected(server.urlList, name: "b")
        guard let kvA = bucket(loop, a, ttlMs: 3000), let kvB = bucket(loop, b, ttlMs: 3000) else { return }
        let leaseA = loop.lease(kvA, "shard-0", owner: "host-a")
        let leaseB = loop.lease(kvB, "shard-0", owner: "host-b")
        var lostA: [String] = []
        loop.sync { leaseA.onLost = { lostA.append($0) } }
        XCTAssertEqual(loop.acquire(leaseA).map { r in (try? r.get()) != nil }, true)
        // Held and renewed: B is refused for longer than one TTL.
        for _ in 0..<4 {
            XCTAssertEqual(loop.acquire(leaseB).map { r -> NATSLeaseError? in
                if case .failure(let e) = r { return e }; return nil }, .heldBy("host-a"))
            usleep(900_000)
        }
        loop.sync { XCTAssertTrue(leaseA.isHeld); XCTAssertEqual(lostA, []) }
        // A dies (its connection closes, nothing renews): after the TTL, B takes over.
        loop.sync { a.connection.close() }
        loop.waitUntil(what: "A fenced after its connection closed") { !leaseA.isHeld }
        XCTAssertTrue(loop.acquires(leaseB, attempts: 50, pauseMs: 200), "B never took the expired lease")
        loop.sync { XCTAssertEqual(lostA.count, 1) }
    }

    func testSameOwnerRetakesItsOwnKeyAndReleaseFreesIt() throws {
        let (server, loop) = try natsServerAndLoop()
        defer { loop.stop(); server.stop() }
        let a = loop.connected(server.urlList)
        guard let kv = bucket(loop, a, ttlMs: 6_000) else { return }
        let first = loop.lease(kv, "shard-1", owner: "host-a")
        XCTAssertNotNil(try? loop.acquire(first)?.get())
        // The same owner restarted (a new lease object, the key still holds its id): taken back.
        let restarted = loop.lease(kv, "shard-1", owner: "host-a")
        XCTAssertNotNil(try? loop.acquire(restarted)?.get())
        // The first one's next renewal finds the revision moved: fenced at once.
        var lost: [String] = []
        loop.sync { first.onLost = { lost.append($0) } }
        loop.waitUntil(timeoutMs: 15_000, what: "first fenced") { !lost.isEmpty }
        loop.sync { XCTAssertTrue(lost[0].contains("written by someone else"), lost[0]); restarted.release() }
        let other = loop.lease(kv, "shard-1", owner: "host-b")
        // The key is deleted at our revision: the next owner gets it without waiting the TTL.
        XCTAssertTrue(loop.acquires(other, attempts: 10, pauseMs: 50), "the released lease was not free")
    }

    /// A renewal whose write landed but whose answer was lost (a failover's timeout) leaves the
    /// next renewal at a stale revision: the lease sees its own value there and goes on.
    func testOwnWriteWithALostAnswerIsAdopted() throws {
        let (server, loop) = try natsServerAndLoop()
        defer { loop.stop(); server.stop() }
        let a = loop.connected(server.urlList)
        guard let kv = bucket(loop, a, ttlMs: 3000) else { return }
        let lease = loop.lease(kv, "shard-3", owner: "host-a")
        var lost: [String] = []
        loop.sync { lease.onLost = { lost.append($0) } }
        XCTAssertNotNil(try? loop.acquire(lease)?.get())
        // The same bytes written again at the current revision: what a renewal whose answer
        // was lost leaves behind.
        guard case .success(let entry?)? = kvGet(loop, { done in kv.get("shard-3", done) }) else { return XCTFail("no entry") }
        XCTAssertTrue(String(decoding: entry.value, as: UTF8.self).hasPrefix("host-a\n"))
        guard case .success(let moved)? = kvWrite(loop, { done in kv.update("shard-3", entry.value, revision: entry.revision, done) }) else {
            return XCTFail("rewrite failed")
        }
        // Two renewal periods (1 s each) and more than a TTL: still held, renewed past `moved`.
        usleep(3_500_000)
        loop.sync { XCTAssertEqual(lost, []); XCTAssertTrue(lease.isHeld) }
        guard case .success(let now?)? = kvGet(loop, { done in kv.get("shard-3", done) }) else { return XCTFail("no entry") }
        XCTAssertGreaterThan(now.revision, moved)
    }

    /// The bus is gone: no renewal is confirmed, and onLost fires before the TTL runs out.
    func testFencedWhenTheBusIsGone() throws {
        let (server, loop) = try natsServerAndLoop()
        defer { loop.stop(); server.stop() }
        let a = loop.connected(server.urlList)
        guard let kv = bucket(loop, a, ttlMs: 3000) else { return }
        let lease = loop.lease(kv, "shard-2", owner: "host-a")
        var lostAtMs: Int64?
        loop.sync { lease.onLost = { _ in lostAtMs = loop.loop.nowMs } }
        XCTAssertNotNil(try? loop.acquire(lease)?.get())
        let acquiredMs = loop.sync { loop.loop.nowMs }!
        server.kill(node: 0)
        loop.waitUntil(timeoutMs: 6000, what: "onLost") { lostAtMs != nil }
        loop.sync {
            XCTAssertFalse(lease.isHeld)
            // Never later than the key's own expiry (measured from before the acquire was sent).
            XCTAssertLessThan(lostAtMs! - acquiredMs, 3000)
        }
    }
}

extension NATSTestLoop {
    /// A lease on `key` for `owner`, made on the loop.
    func lease(_ kv: NATSKeyValue, _ key: String, owner: String) -> NATSLease {
        sync { NATSLease(kv: kv, key: key, owner: owner) }!
    }

    /// One acquire of `lease`, waited for (bounded).
    func acquire(_ lease: NATSLease) -> LeaseTake? {
        leaseTake(self) { done in lease.acquire(done) }
    }

    /// Tries to acquire `lease` up to `attempts` times, `pauseMs` apart; true once it is taken.
    func acquires(_ lease: NATSLease, attempts: Int, pauseMs: Int) -> Bool {
        for attempt in 0..<attempts {
            if attempt > 0 { usleep(UInt32(pauseMs) * 1000) }
            if (try? acquire(lease)?.get()) != nil { return true }
        }
        return false
    }
}
