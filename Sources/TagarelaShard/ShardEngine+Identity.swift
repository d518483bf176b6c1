// ShardEngine+Identity: register, login (with the off-loop password hash), auth, logout and user search.

import TagarelaCrypto
import TagarelaJSON
import TagarelaModel

extension ShardEngine {
    /// Salt length for new passwords: 128 bits (NIST SP 800-132 asks for at least 128).
    static let saltBytes = 16
    /// Derived key length: one SHA-256 block.
    static let keyBytes = 32

    func register(_ r: Request, username: String, password: String, displayName: String?) -> EngineStep {
        // Checked now to spare a hash, and again in `resume` since the world may move meanwhile.
        if users[username] != nil { return fail(r, RequestError(.conflict, "username taken")) }
        let job = PasswordJob(password: Array(password.utf8), salt: config.random(ShardEngine.saltBytes),
                              iterations: config.pbkdf2Iterations, keyLength: ShardEngine.keyBytes,
                              purpose: .register(username: username, displayName: displayName ?? username),
                              requestType: r.type.rawValue, requestID: r.requestID)
        return .needsPasswordHash(job)
    }

    func login(_ r: Request, username: String, password: String) -> EngineStep {
        // An unknown user still costs one full hash (with a throwaway salt), so response
        // time does not reveal which usernames exist.
        let stored = users[username]
        let job = PasswordJob(password: Array(password.utf8), salt: stored?.salt ?? config.random(ShardEngine.saltBytes),
                              iterations: stored?.iterations ?? config.pbkdf2Iterations, keyLength: ShardEngine.keyBytes,
                              purpose: .login(username: username),
                              requestType: r.type.rawValue, requestID: r.requestID)
        return .needsPasswordHash(job)
    }

    /// Finishes register or login once `job.derive()` has run. Re-checks state, because other
    /// requests ran while the hash was computed.
    public func resume(_ job: PasswordJob, derivedKey: [UInt8]) -> EngineResult {
        let type = job.requestType
        let rid = job.requestID
        switch job.purpose {
        case let .register(username, displayName):
            if users[username] != nil {
                return EngineResult(response: Responses.error(type: type, requestID: rid, code: .conflict, message: "username taken"))
            }
            var records: [[UInt8]] = []
            commit(.userCreated(username: username, displayName: displayName, createdAt: config.clock(),
                                salt: job.salt, hash: derivedKey, iterations: job.iterations), into: &records)
            var w = Responses.begin(type: type, requestID: rid)
            w.key("user")
            users[username]!.user.write(to: &w)
            return EngineResult(response: Responses.finish(&w), records: records)
        case let .login(username):
            guard let stored = users[username], stored.salt == job.salt, stored.iterations == job.iterations,
                  constantTimeEquals(stored.hash, derivedKey)
            else {
                return EngineResult(response: Responses.error(type: type, requestID: rid, RequestError.badCredentials))
            }
            let token = TokenCodec.mint(username: username, random: config.random(TokenCodec.randomBytes))
            let sessionID = TokenCodec.sessionID(of: token)
            var records: [[UInt8]] = []
            commit(.sessionStarted(sessionID: sessionID, username: username, expiresAt: config.clock() + config.tokenTTLms), into: &records)
            var w = Responses.begin(type: type, requestID: rid)
            w.key("token"); w.string(token)
            w.key("user")
            stored.user.write(to: &w)
            return EngineResult(response: Responses.finish(&w), records: records, authUserID: username, authSessionID: sessionID)
        }
    }

    /// `auth`: an unknown, ended or expired token is `bad_credentials` (the credential
    /// presented is wrong; `unauthenticated` is kept for "log in first").
    func auth(_ r: Request, token: String) -> EngineResult {
        let sessionID = TokenCodec.sessionID(of: token)
        guard let session = sessions[sessionID], session.expiresAt > config.clock(),
              let stored = users[session.username]
        else {
            return failure(r, RequestError.badToken)
        }
        var w = Responses.begin(type: r.type.rawValue, requestID: r.requestID)
        w.key("user")
        stored.user.write(to: &w)
        return EngineResult(response: Responses.finish(&w), authUserID: session.username, authSessionID: sessionID)
    }

    /// `logout`: ends the connection's session; the gateway then sends `session:ended` to
    /// that session's other connections and unauthenticates them all.
    func logout(_ r: Request, sessionID: String) -> EngineResult {
        var records: [[UInt8]] = []
        if sessions[sessionID] != nil {
            commit(.sessionEnded(sessionID: sessionID), into: &records)
        }
        return EngineResult(response: Responses.ok(type: r.type.rawValue, requestID: r.requestID),
                            records: records, endSessionID: sessionID.isEmpty ? nil : sessionID)
    }

    /// `search_users`: this shard's users whose username starts with `query`, by username.
    func searchUsers(_ r: Request, query: String, limit: Int) -> EngineResult {
        var lo = 0
        var hi = sortedUsernames.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sortedUsernames[mid] < query { lo = mid + 1 } else { hi = mid }
        }
        var w = Responses.begin(type: r.type.rawValue, requestID: r.requestID)
        w.key("users")
        w.beginArray()
        var k = lo
        var n = 0
        while k < sortedUsernames.count, n < limit, sortedUsernames[k].utf8.starts(with: query.utf8) {
            users[sortedUsernames[k]]!.user.write(to: &w)
            k += 1
            n += 1
        }
        w.endArray()
        return EngineResult(response: Responses.finish(&w))
    }

    /// Internal `users_exist`: which of `ids` this shard does not know.
    func usersExist(_ r: Request, ids: [String]) -> EngineResult {
        var w = Responses.begin(type: r.type.rawValue, requestID: r.requestID)
        w.key("missing")
        w.beginArray()
        for id in ids where users[id] == nil { w.string(id) }
        w.endArray()
        return EngineResult(response: Responses.finish(&w))
    }

    /// Ends every session past its expiry and returns the journal records to persist. The
    /// worker calls it now and then (for example before compaction); expired sessions are
    /// refused by `auth` either way.
    public func purgeExpiredSessions() -> [[UInt8]] {
        let now = config.clock()
        var records: [[UInt8]] = []
        for id in sessions.filter({ $0.value.expiresAt <= now }).keys.sorted() {
            commit(.sessionEnded(sessionID: id), into: &records)
        }
        return records
    }
}
