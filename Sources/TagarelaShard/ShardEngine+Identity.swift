// ShardEngine+Identity: register, login (with the off-loop password hash and the per-account throttle), auth, logout and user search.

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

    func login(_ r: Request, username: String, password: String, source: String) -> EngineStep {
        if let wait = beginPasswordCheck(username, source: source) { return throttled(r, retryAfterMs: wait) }
        // An unknown user still costs one full hash (with a throwaway salt), so response
        // time does not reveal which usernames exist.
        let stored = users[username]
        let job = PasswordJob(password: Array(password.utf8), salt: stored?.salt ?? config.random(ShardEngine.saltBytes),
                              iterations: stored?.iterations ?? config.pbkdf2Iterations, keyLength: ShardEngine.keyBytes,
                              purpose: .login(username: username, source: source),
                              requestType: r.type.rawValue, requestID: r.requestID)
        return .needsPasswordHash(job)
    }

    /// Starts a password check of `account` from `source`, or says how long to wait (ms). Two
    /// counts (PROTOCOL.md 3.2): per account and source, so one who fails on purpose from one
    /// address (or session) waits without locking the owner out from another; and per account
    /// from every source together, a looser ceiling on guessing spread over many addresses.
    func beginPasswordCheck(_ account: String, source: String) -> Int64? {
        let now = config.clock()
        if let wait = accountThrottle.begin(account, now: now) { return wait }
        if let wait = loginThrottle.begin(ShardEngine.throttleKey(account, source), now: now) {
            accountThrottle.cancel(account)
            return wait
        }
        return nil
    }

    /// Ends a check `beginPasswordCheck` started: counted in both tables.
    func finishPasswordCheck(_ account: String, source: String, success: Bool) {
        let now = config.clock()
        accountThrottle.finish(account, success: success, now: now)
        loginThrottle.finish(ShardEngine.throttleKey(account, source), success: success, now: now)
    }

    /// The per-source table's key: account and source, which a NUL (in neither) keeps apart.
    static func throttleKey(_ account: String, _ source: String) -> String { account + "\u{0}" + source }

    /// `rate_limited` for an account whose password checks are throttled (PROTOCOL.md 3.2).
    func throttled(_ r: Request, retryAfterMs: Int64) -> EngineStep {
        .done(EngineResult(response: Responses.error(type: r.type.rawValue, requestID: r.requestID, code: .rateLimited,
                                                     message: "too many failed password checks for this account, retry later",
                                                     retryAfterMs: retryAfterMs)))
    }

    /// Finishes register, login or change_password once `job.derive()` has run. Re-checks
    /// state, because other requests ran while the hash was computed.
    public func resume(_ job: PasswordJob, derivedKey: [UInt8]) -> EngineStep {
        let type = job.requestType
        let rid = job.requestID
        switch job.purpose {
        case let .register(username, displayName):
            if users[username] != nil {
                return .done(EngineResult(response: Responses.error(type: type, requestID: rid, code: .conflict, message: "username taken")))
            }
            var records: [[UInt8]] = []
            commit(.userCreated(username: username, displayName: displayName, createdAt: config.clock(),
                                salt: job.salt, hash: derivedKey, iterations: job.iterations), into: &records)
            var w = Responses.begin(type: type, requestID: rid)
            w.key("user")
            users[username]!.user.write(to: &w)
            return .done(EngineResult(response: Responses.finish(&w), records: records))
        case let .login(username, source):
            let matches = passwordMatches(job, derivedKey, username)
            finishPasswordCheck(username, source: source, success: matches)
            guard matches, let stored = users[username] else {
                return .done(EngineResult(response: Responses.error(type: type, requestID: rid, RequestError.badCredentials)))
            }
            let (token, sessionID) = mintToken(username)
            var records: [[UInt8]] = []
            endOldestSessions(of: username, keeping: config.sessionsPerUserMax - 1, into: &records)
            commit(.sessionStarted(sessionID: sessionID, username: username, expiresAt: config.clock() + config.tokenTTLms), into: &records)
            return .done(EngineResult(response: tokenResponse(type, rid, token, stored.user), records: records,
                                      authUserID: username, authSessionID: sessionID))
        case let .verifyForChange(username, source, newPassword):
            let matches = passwordMatches(job, derivedKey, username)
            finishPasswordCheck(username, source: source, success: matches)
            guard matches, let stored = users[username] else {
                return .done(EngineResult(response: Responses.error(type: type, requestID: rid, code: .badCredentials,
                                                                    message: "wrong old_password")))
            }
            return .needsPasswordHash(PasswordJob(password: newPassword, salt: config.random(ShardEngine.saltBytes),
                                                  iterations: config.pbkdf2Iterations, keyLength: ShardEngine.keyBytes,
                                                  purpose: .setNewPassword(username: username, verifiedHash: stored.hash),
                                                  requestType: type, requestID: rid))
        case let .setNewPassword(username, verifiedHash):
            guard let stored = users[username], stored.hash == verifiedHash else {
                return .done(EngineResult(response: Responses.error(type: type, requestID: rid, code: .conflict,
                                                                    message: "the password changed meanwhile; retry")))
            }
            let (token, sessionID) = mintToken(username)
            var records: [[UInt8]] = []
            commit(.passwordChanged(username: username, salt: job.salt, hash: derivedKey, iterations: job.iterations,
                                    sessionID: sessionID, expiresAt: config.clock() + config.tokenTTLms), into: &records)
            return .done(EngineResult(response: tokenResponse(type, rid, token, stored.user), records: records,
                                      authUserID: username, authSessionID: sessionID, endSessionID: SessionScope.everySession))
        }
    }

    /// A password job the worker drops without resuming it (its hash pool is full, or the link
    /// it came on closed): releases the throttle slot `handle` took for it.
    public func abandon(_ job: PasswordJob) {
        switch job.purpose {
        case let .login(username, source), let .verifyForChange(username, source, _):
            accountThrottle.cancel(username)
            loginThrottle.cancel(ShardEngine.throttleKey(username, source))
        case .register, .setNewPassword: break
        }
    }

    /// Whether `derivedKey` is the stored hash of `username` under the salt and iterations the
    /// job used (a hash stored meanwhile with another salt does not match).
    func passwordMatches(_ job: PasswordJob, _ derivedKey: [UInt8], _ username: String) -> Bool {
        guard let stored = users[username], stored.salt == job.salt, stored.iterations == job.iterations else { return false }
        return constantTimeEquals(stored.hash, derivedKey)
    }

    /// Ends `username`'s sessions that expire first until at most `keep` are left (all sessions
    /// live equally long, so those are the oldest), journaled like a logout of each. Connections
    /// already bound to an ended session stay until they close; its token no longer authenticates.
    func endOldestSessions(of username: String, keeping keep: Int, into records: inout [[UInt8]]) {
        guard let ids = sessionsByUser[username], ids.count > keep else { return }
        let oldest = ids.sorted { (sessions[$0]?.expiresAt ?? 0, $0) < (sessions[$1]?.expiresAt ?? 0, $1) }
        for id in oldest.prefix(ids.count - max(0, keep)) { commit(.sessionEnded(sessionID: id), into: &records) }
    }

    func mintToken(_ username: String) -> (token: String, sessionID: String) {
        let token = TokenCodec.mint(username: username, random: config.random(TokenCodec.randomBytes))
        return (token, TokenCodec.sessionID(of: token))
    }

    func tokenResponse(_ type: String, _ rid: String?, _ token: String, _ user: User) -> [UInt8] {
        var w = Responses.begin(type: type, requestID: rid)
        w.key("token"); w.string(token)
        w.key("user")
        user.write(to: &w)
        return Responses.finish(&w)
    }

    /// `change_password`: checks `old_password` (throttled like login), hashes the new one, then
    /// stores it, ends every session of the user and starts a new one for the caller, whose
    /// connection the gateway rebinds to it; every other connection of the user gets
    /// `session:ended` (PROTOCOL.md 2.1).
    func changePassword(_ r: Request, username: String, oldPassword: String, newPassword: String,
                        source: String) -> EngineStep {
        guard let stored = users[username] else { return fail(r, .unauthenticated) }
        if let wait = beginPasswordCheck(username, source: source) { return throttled(r, retryAfterMs: wait) }
        return .needsPasswordHash(PasswordJob(password: Array(oldPassword.utf8), salt: stored.salt, iterations: stored.iterations,
                                              keyLength: ShardEngine.keyBytes,
                                              purpose: .verifyForChange(username: username, source: source,
                                                                        newPassword: Array(newPassword.utf8)),
                                              requestType: r.type.rawValue, requestID: r.requestID))
    }

    /// `logout_all`: ends every session of the user (every token stops working); the gateway
    /// sends `session:ended` to every other connection of the user and unauthenticates them all.
    func logoutAll(_ r: Request, username: String) -> EngineResult {
        var records: [[UInt8]] = []
        if sessionsByUser[username]?.isEmpty == false {
            commit(.allSessionsEnded(username: username), into: &records)
        }
        return EngineResult(response: Responses.ok(type: r.type.rawValue, requestID: r.requestID),
                            records: records, endSessionID: SessionScope.everySession)
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

    /// The gateway's `SessionCheck`: whether `sessionID` is a live session of `userID` (not
    /// ended, not expired).
    public func sessionIsLive(userID: String, sessionID: String) -> Bool {
        guard let session = sessions[sessionID] else { return false }
        return session.username == userID && session.expiresAt > config.clock()
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
