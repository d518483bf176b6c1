// NATSKeyValue: a JetStream key-value bucket (stream KV_<bucket>) through the JetStream API: ensure, get, create, update, delete.
import TagarelaCrypto
import TagarelaJSON

/// An entry of a bucket: its value and revision (the stream sequence that stored it).
public struct NATSKVEntry: Equatable, Sendable {
    public let key: String
    public let value: [UInt8]
    public let revision: UInt64

    public init(key: String, value: [UInt8], revision: UInt64) {
        self.key = key
        self.value = value
        self.revision = revision
    }
}

/// Why a key-value operation failed.
public enum NATSKVError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `create` found the key present, at this revision (nil when the server did not say).
    case exists(revision: UInt64?)
    /// `update` named a revision that is not the key's last one any more.
    case wrongRevision(current: UInt64?)
    /// A key outside `[-/_=.a-zA-Z0-9]+` (or starting or ending with `.`), or a bad bucket name.
    case invalidName(String)
    /// The request did not get its answer (timeout, no JetStream responders, not sent, closed).
    case request(NATSError)
    /// JetStream answered with an error.
    case api(code: Int, errCode: Int, description: String)
    /// An answer this client cannot read.
    case badResponse(String)

    public var description: String {
        switch self {
        case .exists(let r): return "the key exists" + (r.map { " (revision \($0))" } ?? "")
        case .wrongRevision(let r): return "wrong revision" + (r.map { " (current \($0))" } ?? "")
        case .invalidName(let n): return "invalid key-value name \(n)"
        case .request(let e): return "JetStream request failed: \(e)"
        case .api(let code, let errCode, let text): return "JetStream error \(code)/\(errCode): \(text)"
        case .badResponse(let text): return "unreadable JetStream answer: \(text)"
        }
    }
}

/// One bucket on a connection. Callbacks arrive on the connection's loop.
public final class NATSKeyValue {
    public let connection: NATSConnection
    public let bucket: String
    /// The bucket's entry lifetime (its stream's `max_age`), nil for entries that never expire.
    public let ttlMs: Int64?
    public let requestTimeoutMs: Int64

    /// JetStream error codes this client acts on (`err_code` of the API's error answers).
    enum ErrCode {
        static let streamNameInUse = 10058
        static let noMessageFound = 10037
        static let wrongLastSequence = 10071
    }

    public init(connection: NATSConnection, bucket: String, ttlMs: Int64?, requestTimeoutMs: Int64 = 2_000) {
        precondition(NATSKeyValue.isValidBucket(bucket), "invalid bucket name \(bucket)")
        self.connection = connection
        self.bucket = bucket
        self.ttlMs = ttlMs
        self.requestTimeoutMs = requestTimeoutMs
    }

    var stream: String { "KV_\(bucket)" }
    func subject(_ key: String) -> String { "$KV.\(bucket).\(key)" }

    /// Bucket names: `[-_a-zA-Z0-9]+`, as the NATS key-value convention has them.
    public static func isValidBucket(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    /// Keys: `[-/_=.a-zA-Z0-9]+`, not starting or ending with `.`.
    public static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && !key.hasPrefix(".") && !key.hasSuffix(".") && !key.contains("..")
            && key.utf8.allSatisfy { isAlphanumeric($0) || "-/_=.".utf8.contains($0) }
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    // MARK: - Bucket

    /// Creates the bucket's stream (`KV_<bucket>` on `$KV.<bucket>.>`, one message per subject,
    /// `max_age` = `ttlMs`, `replicas` copies, discard new, rollups allowed, deletes through
    /// the API denied), or accepts an existing one with the same settings.
    public static func ensure(connection: NATSConnection, bucket: String, ttlMs: Int64?, replicas: Int,
                              requestTimeoutMs: Int64 = 2_000,
                              _ completion: @escaping (Result<NATSKeyValue, NATSKVError>) -> Void) {
        guard isValidBucket(bucket) else { return completion(.failure(.invalidName(bucket))) }
        let kv = NATSKeyValue(connection: connection, bucket: bucket, ttlMs: ttlMs, requestTimeoutMs: requestTimeoutMs)
        let config = kv.streamConfig(replicas: replicas)
        kv.api("$JS.API.STREAM.CREATE.\(kv.stream)", JSON.object(config).encoded()) { result in
            switch result {
            case .success: completion(.success(kv))
            case .failure(.api(_, ErrCode.streamNameInUse, let text)):
                kv.api("$JS.API.STREAM.INFO.\(kv.stream)", []) { info in
                    switch info {
                    case .success(let json):
                        if kv.sameSettings(json["config"], config) {
                            completion(.success(kv))
                        } else {
                            completion(.failure(.api(code: 400, errCode: ErrCode.streamNameInUse,
                                                     description: "bucket \(bucket) exists with other settings: \(text)")))
                        }
                    case .failure(let error): completion(.failure(error))
                    }
                }
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    private func streamConfig(replicas: Int) -> JSONObject {
        let maxAgeNs = (ttlMs ?? 0) * 1_000_000
        // The duplicate window may not exceed max_age; two minutes is the server's default.
        let duplicateNs = maxAgeNs > 0 ? min(maxAgeNs, 120_000_000_000) : 120_000_000_000
        return JSONObject([
            ("name", .string(stream)), ("subjects", .array([.string("$KV.\(bucket).>")])),
            ("retention", "limits"), ("max_consumers", -1), ("max_msgs", -1), ("max_bytes", -1),
            ("max_age", .int(maxAgeNs)), ("max_msgs_per_subject", 1), ("max_msg_size", -1),
            ("discard", "new"), ("storage", "file"), ("num_replicas", .int(Int64(replicas))),
            ("duplicate_window", .int(duplicateNs)), ("allow_rollup_hdrs", true), ("deny_delete", true),
            ("deny_purge", false),
        ])
    }

    private func sameSettings(_ existing: JSON?, _ wanted: JSONObject) -> Bool {
        guard let existing else { return false }
        for name in ["subjects", "max_age", "max_msgs_per_subject", "num_replicas", "discard"] {
            if existing[name] != wanted[name] { return false }
        }
        return true
    }

    // MARK: - Entries

    /// The key's current value and revision, nil when absent or deleted.
    public func get(_ key: String, _ completion: @escaping (Result<NATSKVEntry?, NATSKVError>) -> Void) {
        lastMessage(key) { result in completion(result.map { $0.flatMap { $0.deleted ? nil : $0.entry } }) }
    }

    /// Stores `value` only if the key is absent (or deleted); its revision, or `.exists(revision)`.
    public func create(_ key: String, _ value: [UInt8], _ completion: @escaping (Result<UInt64, NATSKVError>) -> Void) {
        create(key, value, attemptsLeft: 3, completion)
    }

    /// `attemptsLeft` bounds the retries when the key expires between the refusal and the look.
    private func create(_ key: String, _ value: [UInt8], attemptsLeft: Int,
                        _ completion: @escaping (Result<UInt64, NATSKVError>) -> Void) {
        put(key, value, expectedRevision: 0) { result in
            guard case .failure(.wrongRevision(let current)) = result else { return completion(result) }
            // Present, or only a delete marker (which counts as absent): look before refusing.
            self.lastMessage(key) { last in
                switch last {
                case .success(let found?) where found.deleted:
                    self.update(key, value, revision: found.entry.revision) { updated in
                        if case .failure(.wrongRevision(let now)) = updated { return completion(.failure(.exists(revision: now))) }
                        completion(updated)
                    }
                case .success(nil) where attemptsLeft > 1:  // expired meanwhile: again
                    self.create(key, value, attemptsLeft: attemptsLeft - 1, completion)
                case .success(nil): completion(.failure(.exists(revision: current)))
                case .success(let found?): completion(.failure(.exists(revision: found.entry.revision)))
                case .failure: completion(.failure(.exists(revision: current)))
                }
            }
        }
    }

    /// Stores `value` only if the key's last revision is `revision`; the new revision, or `.wrongRevision`.
    public func update(_ key: String, _ value: [UInt8], revision: UInt64,
                       _ completion: @escaping (Result<UInt64, NATSKVError>) -> Void) {
        put(key, value, expectedRevision: revision, completion)
    }

    /// Marks the key deleted (a `KV-Operation: DEL` entry, as other NATS clients do); with
    /// `revision`, only if that is still the key's last one (else `.wrongRevision`).
    public func delete(_ key: String, revision: UInt64? = nil, _ completion: @escaping (Result<UInt64, NATSKVError>) -> Void) {
        put(key, [], expectedRevision: revision, extraHeaders: [("KV-Operation", "DEL")], completion)
    }

    private func put(_ key: String, _ value: [UInt8], expectedRevision: UInt64?, extraHeaders: [(String, String)] = [],
                     _ completion: @escaping (Result<UInt64, NATSKVError>) -> Void) {
        guard NATSKeyValue.isValidKey(key) else { return completion(.failure(.invalidName(key))) }
        var headers = extraHeaders
        if let expectedRevision { headers.append(("Nats-Expected-Last-Subject-Sequence", String(expectedRevision))) }
        publish(subject(key), headers, value, retriesLeft: NATSLimits.jetStreamPublishRetries) { result in
            switch NATSKeyValue.answer(result) {
            case .success(let ack):
                guard let seq = ack["seq"]?.int, seq > 0 else { return completion(.failure(.badResponse("PubAck without seq"))) }
                completion(.success(UInt64(seq)))
            case .failure(.api(_, ErrCode.wrongLastSequence, let text)):
                let current = text.split(separator: ":").last.flatMap { UInt64($0.trimmingSpaces()) }
                completion(.failure(.wrongRevision(current: current)))
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    /// A request to a stream's subject, tried again on no responders (see `jetStreamPublishRetries`).
    private func publish(_ subject: String, _ headers: [(String, String)], _ value: [UInt8], retriesLeft: Int,
                         _ completion: @escaping (Result<NATSMessage, NATSError>) -> Void) {
        connection.request(subject, headers: headers, payload: value, timeoutMs: requestTimeoutMs) { result in
            guard case .failure(.noResponders) = result, retriesLeft > 0 else { return completion(result) }
            self.connection.loop.schedule(afterMs: NATSLimits.jetStreamRetryWaitMs) {
                self.publish(subject, headers, value, retriesLeft: retriesLeft - 1, completion)
            }
        }
    }

    struct StoredMessage {
        let entry: NATSKVEntry
        let deleted: Bool
    }

    /// The key's last stored message (a delete marker included), nil when there is none.
    private func lastMessage(_ key: String, _ completion: @escaping (Result<StoredMessage?, NATSKVError>) -> Void) {
        guard NATSKeyValue.isValidKey(key) else { return completion(.failure(.invalidName(key))) }
        let body = JSON.object(JSONObject([("last_by_subj", .string(subject(key)))])).encoded()
        api("$JS.API.STREAM.MSG.GET.\(stream)", body) { result in
            switch result {
            case .success(let json):
                guard let message = json["message"], let seq = message["seq"]?.int,
                      let data = Base64.decode(message["data"]?.string ?? "") else {
                    return completion(.failure(.badResponse("stored message without seq or data")))
                }
                var deleted = false
                if let hdrs = message["hdrs"]?.string, let block = Base64.decode(hdrs),
                   let parsed = try? NATSParser.parseHeaders(block[...]) {
                    let op = parsed.headers.first { $0.0.lowercased() == "kv-operation" }?.1
                    deleted = op == "DEL" || op == "PURGE"
                }
                completion(.success(StoredMessage(entry: NATSKVEntry(key: key, value: data, revision: UInt64(seq)), deleted: deleted)))
            case .failure(.api(_, ErrCode.noMessageFound, _)): completion(.success(nil))
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    // MARK: - JetStream API

    /// A JetStream API request whose answer is a JSON object, its `error` member turned into `.api`.
    private func api(_ subject: String, _ body: [UInt8], _ completion: @escaping (Result<JSON, NATSKVError>) -> Void) {
        connection.request(subject, payload: body, timeoutMs: requestTimeoutMs) { completion(NATSKeyValue.answer($0)) }
    }

    static func answer(_ result: Result<NATSMessage, NATSError>) -> Result<JSON, NATSKVError> {
        switch result {
        case .failure(let error): return .failure(.request(error))
        case .success(let message):
            guard let json = try? JSON.parse(message.payload), json.object != nil else {
                return .failure(.badResponse(String(decoding: message.payload.prefix(200), as: UTF8.self)))
            }
            if let error = json["error"] {
                return .failure(.api(code: Int(error["code"]?.int ?? 0), errCode: Int(error["err_code"]?.int ?? 0),
                                     description: error["description"]?.string ?? ""))
            }
            return .success(json)
        }
    }
}
