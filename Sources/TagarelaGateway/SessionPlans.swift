// SessionPlans: a session's requests that take more than one shard (existence checks before a write, scatter-gather), as state waiting for their parts.
import TagarelaJSON
import TagarelaModel

/// The write a plan makes once its checks pass: the client's JSON to its shard.
struct PlannedForward {
    var shard: Int
    var json: [UInt8]
    var arg: String
}

/// What a scatter merges its parts into.
enum ScatterKind {
    case userChats(limit: Int)
    case searchUsers(limit: Int)
}

/// One multi-shard request in progress.
enum Plan {
    /// `users_exist` on each shard of the users named, then `then` on its own shard; a missing
    /// user is `not_found`, a shard down `unavailable` (README.md "How it is built", Routing).
    case checkUsers(label: RequestLabel, remaining: Int, failure: [UInt8]?, missing: [String], then: PlannedForward)
    /// The same request to every shard, its answers merged into one (`ScatterMerge`).
    case scatter(label: RequestLabel, kind: ScatterKind, remaining: Int, replies: [JSON?])
}

/// A session's plans in progress by id; the id and the part travel with each step's request
/// (`ReplyTag.step`) and come back with its answer. Empty (one word) on most connections.
struct SessionPlans {
    private var byID: [UInt32: Plan] = [:]
    private var nextID: UInt32 = 0

    var count: Int { byID.count }

    mutating func add(_ plan: Plan) -> UInt32 {
        nextID &+= 1
        byID[nextID] = plan
        return nextID
    }

    mutating func take(_ id: UInt32) -> Plan? { byID.removeValue(forKey: id) }

    mutating func put(_ id: UInt32, _ plan: Plan) { byID[id] = plan }
}

extension Session {
    /// Checks with each shard that its users exist (`users_exist`), then forwards `then`.
    mutating func checkUsers<C: SessionContext>(_ checks: [ShardUsers], _ label: RequestLabel, then: PlannedForward,
                                                _ c: C, _ emit: (SessionAction) -> Void) {
        guard !checks.isEmpty else {
            forward(label, shard: then.shard, json: then.json, arg: then.arg, c, emit)
            return
        }
        let id = plans.add(.checkUsers(label: label, remaining: checks.count, failure: nil, missing: [], then: then))
        for (part, check) in checks.enumerated() {
            let request = InternalRequest.encode(type: "users_exist") { w in
                w.key("user_ids")
                w.beginArray()
                for user in check.userIDs { w.string(user) }
                w.endArray()
            }
            if !ask(check.shard, request, plan: id, part: part, c, emit) { partAnswered(id, part, nil, c, emit) }
        }
    }

    /// Sends `request` to every shard and answers the client with the merge of the answers.
    mutating func scatter<C: SessionContext>(_ label: RequestLabel, _ kind: ScatterKind, _ request: [UInt8],
                                             _ c: C, _ emit: (SessionAction) -> Void) {
        let shards = max(1, c.settings.workers)
        let id = plans.add(.scatter(label: label, kind: kind, remaining: shards,
                                    replies: [JSON?](repeating: nil, count: shards)))
        for shard in 0..<shards where !ask(shard, request, plan: id, part: shard, c, emit) {
            partAnswered(id, shard, nil, c, emit)
        }
    }

    /// Part `part` of plan `id` answered `reply` (nil: its shard is down, its link dropped, its
    /// deadline passed, or it answered something that is not JSON). The plan's last part
    /// finishes it.
    mutating func partAnswered<C: SessionContext>(_ id: UInt32, _ part: Int, _ reply: JSON?, _ c: C,
                                                  _ emit: (SessionAction) -> Void) {
        guard let plan = plans.take(id) else { return }
        switch plan {
        case .checkUsers(let label, var remaining, var failure, var missing, let then):
            if failure == nil {
                if let reply = reply {
                    if let m = ScatterMerge.missingUsers(reply) {
                        missing += m
                    } else {
                        failure = Responses.relabeledError(reply, type: label.type, requestID: label.requestID)
                    }
                } else {
                    emit(.count(.unavailable))
                    failure = Responses.error(type: label.type, requestID: label.requestID,
                                              code: .unavailable, message: "a shard is unavailable, retry")
                }
            }
            remaining -= 1
            guard remaining == 0 else {
                plans.put(id, .checkUsers(label: label, remaining: remaining, failure: failure, missing: missing, then: then))
                return
            }
            if let failure = failure {
                answer(failure, label, emit)
            } else if !missing.isEmpty {
                answer(Responses.error(type: label.type, requestID: label.requestID, code: .notFound,
                                       message: "no such user: \(missing.joined(separator: ", "))"), label, emit)
            } else {
                forward(label, shard: then.shard, json: then.json, arg: then.arg, c, emit)
            }
        case .scatter(let label, let kind, var remaining, var replies):
            replies[part] = reply
            remaining -= 1
            guard remaining == 0 else {
                plans.put(id, .scatter(label: label, kind: kind, remaining: remaining, replies: replies))
                return
            }
            let outcome: ScatterMerge.Outcome
            switch kind {
            case .userChats(let limit): outcome = ScatterMerge.userChats(replies, requestID: label.requestID, limit: limit)
            case .searchUsers(let limit): outcome = ScatterMerge.searchUsers(replies, requestID: label.requestID, limit: limit)
            }
            switch outcome {
            case .ok(let bytes), .error(let bytes): respond(label, bytes, c, emit)
            }
        }
    }
}
