// NATSKeyValueTests: JetStream key-value against a real nats-server: ensure, create conflict, stale update, get missing, delete.
import TagarelaNATS
import TestSupport
import XCTest

/// Runs one callback-style call on the loop and waits for its result (bounded).
func loopResult<T>(_ loop: NATSTestLoop, timeoutMs: Int = 8000, file: StaticString = #filePath, line: UInt = #line,
              _ call: @escaping (@escaping (T) -> Void) -> Void) -> T? {
    var result: T?
    loop.sync { call { result = $0 } }
    loop.waitUntil(timeoutMs: timeoutMs, what: "callback", file: file, line: line) { result != nil }
    return loop.sync { result } ?? nil
}

typealias KVEnsure = Result<NATSKeyValue, NATSKVError>
typealias KVGet = Result<NATSKVEntry?, NATSKVError>
typealias KVWrite = Result<UInt64, NATSKVError>
typealias LeaseTake = Result<Void, NATSLeaseError>

func kvEnsure(_ loop: NATSTestLoop, _ call: @escaping (@escaping (KVEnsure) -> Void) -> Void) -> KVEnsure? { loopResult(loop, call) }
func kvGet(_ loop: NATSTestLoop, _ call: @escaping (@escaping (KVGet) -> Void) -> Void) -> KVGet? { loopResult(loop, call) }
func kvWrite(_ loop: NATSTestLoop, _ call: @escaping (@escaping (KVWrite) -> Void) -> Void) -> KVWrite? { loopResult(loop, call) }
func leaseTake(_ loop: NATSTestLoop, _ call: @escaping (@escaping (LeaseTake) -> Void) -> Void) -> LeaseTake? { loopResult(loop, call) }

final class NATSKeyValueTests: XCTestCase {
    func testCreateConflictStaleUpdateGetMissingAndDelete() throws {
        let (server, loop) = try natsServerAndLoop()
        defer { loop.stop(); server.stop() }
        let client = loop.connected(server.urlList)
        guard let ensured = kvEnsure(loop, { done in
            NATSKeyValue.ensure(connection: client.connection, bucket: "layout", ttlMs: nil, replicas: 1, done)
        }), case .success(let kv) = ensured else { return XCTFail("ensure failed") }
        // Ensuring again with the same settings is accepted; with other settings refused.
        let again = kvEnsure(loop) { done in NATSKeyValue.ensure(connection: client.connection, bucket: "layout", ttlMs: nil, replicas: 1, done) }
        XCTAssertNotNil(try? again?.get())
        let other = kvEnsure(loop) { done in NATSKeyValue.ensure(connection: client.connection, bucket: "layout", ttlMs: 5000, replicas: 1, done) }
        guard case .failure(.api(_, 10058, _))? = other else { return XCTFail("\(String(describing: other))") }

        XCTAssertEqual(kvGet(loop) { done in kv.get("shards", done) }, .success(nil))
        let created = kvWrite(loop) { done in kv.create("shards", Array("4".utf8), done) }
        guard case .success(let rev1)? = created else { return XCTFail("\(String(describing: created))") }
        XCTAssertEqual(kvWrite(loop) { done in kv.create("shards", Array("8".utf8), done) }, .failure(.exists(revision: rev1)))
        XCTAssertEqual(kvGet(loop) { done in kv.get("shards", done) },
                       .success(NATSKVEntry(key: "shards", value: Array("4".utf8), revision: rev1)))
        let updated = kvWrite(loop) { done in kv.update("shards", Array("5".utf8), revision: rev1, done) }
        guard case .success(let rev2)? = updated, rev2 > rev1 else { return XCTFail("\(String(describing: updated))") }
        XCTAssertEqual(kvWrite(loop) { done in kv.update("shards", Array("6".utf8), revision: rev1, done) },
                       .failure(.wrongRevision(current: rev2)))
        XCTAssertEqual(kvGet(loop) { done in kv.get("shards", done) }.map { r in (try? r.get())??.value }, Array("5".utf8))
        // Delete: gone for get; create works again over the marker.
        XCTAssertNotNil(try? kvWrite(loop) { done in kv.delete("shards", done) }?.get())
        XCTAssertEqual(kvGet(loop) { done in kv.get("shards", done) }, .success(nil))
        XCTAssertNotNil(try? kvWrite(loop) { done in kv.create("shards", Array("7".utf8), done) }?.get())
        XCTAssertEqual(kvGet(loop) { done in kv.get("shards", done) }.map { r in (try? r.get())??.value }, Array("7".utf8))
        XCTAssertEqual(kvWrite(loop) { done in kv.create("bad key", [], done) }, .failure(.invalidName("bad key")))
    }

    func testWithoutJetStreamTheRequestFailsClearly() throws {
        let (server, loop) = try natsServerAndLoop()
        defer { loop.stop(); server.stop() }
        let client = loop.connected(server.urlList)
        let kv = loop.sync { NATSKeyValue(connection: client.connection, bucket: "nostream", ttlMs: nil) }!
        // No stream KV_nostream: a put finds no responders.
        XCTAssertEqual(kvWrite(loop) { done in kv.create("k", [1], done) }, .failure(.request(.noResponders)))
    }
}
