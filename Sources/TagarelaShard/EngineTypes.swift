// EngineTypes: the values that go in and out of the shard engine: config, request, result, step, password job.

import TagarelaCrypto
import TagarelaModel

/// Settings and injected effects. The engine itself does no I/O: time and randomness come
/// from here, and have no default: the worker passes the real clock and the kernel's
/// randomness (`EngineConfig.withRealEffects` in TagarelaWorker), tests pass fixed ones.
public struct EngineConfig {
    /// PBKDF2-HMAC-SHA256 iterations for new passwords (existing users keep theirs).
    public var pbkdf2Iterations: Int
    /// How long a login token stays valid (PROTOCOL.md 2.1: default 30 days).
    public var tokenTTLms: Int64
    /// Wall-clock time in milliseconds since the Unix epoch.
    public var clock: () -> Int64
    /// `count` cryptographically random bytes (salts, tokens, group ids).
    public var random: (Int) -> [UInt8]
    /// Whether this shard owns the user with this id. For owned users the engine checks
    /// existence itself; for users of other shards it trusts the gateway, which asked the
    /// owning shard with `users_exist` before sending the write.
    public var ownsUser: (String) -> Bool
    /// Members of one group (`limit_reached` "group_members" past it). At most
    /// `FieldLimits.groupMembersMax`, from which the response bounds are computed: it bounds
    /// one chat's fan-out, its `member_ids` in every chat object and its read-state work.
    public var groupMembersMax: Int {
        didSet { precondition((1...FieldLimits.groupMembersMax).contains(groupMembersMax), "groupMembersMax out of range") }
    }
    /// Chats one user is a member of on this shard (`limit_reached` "chats_per_user" past it).
    /// Each get_user_chats page sorts the user's chats of every shard, and each membership costs
    /// state and fan-out, so the count must be bounded; 2000 is far above a person's use. It is
    /// counted per shard, where the work is: a shard enforces it atomically with the change,
    /// which a count across shards could not (the instance-wide bound is workers x this).
    public var chatsPerUserMax: Int
    /// Of those, the chats another user put the user into (a group someone else created or
    /// added them to, a direct chat someone else opened); `limit_reached`
    /// "chats_added_by_others" past it. Joining needs no consent, so without this another user
    /// could fill the victim's `chatsPerUserMax` and lock them out of creating chats of their
    /// own: others can fill at most this much, leaving `chatsPerUserMax` minus this for the
    /// user's own chats (who can also leave a group to make room).
    public var chatsAddedByOthersPerUserMax: Int
    /// Back-off after failed password checks (login, change_password), per account and source.
    public var loginThrottle = LoginThrottlePolicy()
    /// The ceiling of failed password checks per account from every source together
    /// (PROTOCOL.md 3.2). `loginThrottle` counts per account and source (the client's address
    /// for `login`, the session for `change_password`), so a guesser elsewhere cannot lock the
    /// owner out by failing on purpose; this looser count still bounds guessing spread over
    /// many addresses (100 free failures, then the same doubling waits).
    public var loginThrottlePerAccount = LoginThrottlePolicy(freeFailures: 100)
    /// Sessions (live tokens) one user may hold; a login past it ends the user's oldest session
    /// (its token stops working). Every login adds a 30-day session to memory, the journal and
    /// the snapshot, so without a bound a script logging in over and over grows them without
    /// end; 100 is far more devices and browsers than a person uses at once.
    public var sessionsPerUserMax = 100
    /// One attachment's decoded bytes (`too_large` past it). At most
    /// `FieldLimits.attachmentBytesMax` (512 KiB), from which the request and response bounds
    /// are computed; the worker's `--attachment-bytes-max` may lower it.
    public var attachmentBytesMax = FieldLimits.attachmentBytesMax {
        didSet { precondition((1...FieldLimits.attachmentBytesMax).contains(attachmentBytesMax), "attachmentBytesMax out of range") }
    }

    /// Production defaults (100 000 iterations, 30-day tokens, a single shard owning every
    /// user) around the given clock and randomness.
    public init(pbkdf2Iterations: Int = 100_000,
                tokenTTLms: Int64 = 30 * 24 * 3600 * 1000,
                clock: @escaping () -> Int64,
                random: @escaping (Int) -> [UInt8],
                ownsUser: @escaping (String) -> Bool = { _ in true },
                groupMembersMax: Int = FieldLimits.groupMembersMax,
                chatsPerUserMax: Int = 2000,
                chatsAddedByOthersPerUserMax: Int = 1000) {
        self.pbkdf2Iterations = pbkdf2Iterations
        self.tokenTTLms = tokenTTLms
        self.clock = clock
        self.random = random
        self.ownsUser = ownsUser
        precondition((1...FieldLimits.groupMembersMax).contains(groupMembersMax), "groupMembersMax out of range")
        self.groupMembersMax = groupMembersMax
        self.chatsPerUserMax = chatsPerUserMax
        self.chatsAddedByOthersPerUserMax = chatsAddedByOthersPerUserMax
    }
}

/// One request as the worker received it from the gateway (a LinkRequest).
public struct EngineRequest {
    /// The client's JSON bytes (or the gateway's, for internal requests).
    public var json: [UInt8]
    /// The authenticated user id, "" before authentication.
    public var userID: String
    /// The session id (SHA-256 hex of the token), "" before authentication.
    public var sessionID: String
    /// Gateway-supplied argument: the minted group id for create_group.
    public var arg: String
    /// Made by the gateway itself (link flag bit0): internal types allowed, no auth needed.
    public var isInternal: Bool
    /// The client connection, for logs; events are addressed to users, not connections.
    public var connectionID: UInt64

    /// Makes a request.
    public init(json: [UInt8], userID: String = "", sessionID: String = "", arg: String = "",
                isInternal: Bool = false, connectionID: UInt64 = 0) {
        self.json = json
        self.userID = userID
        self.sessionID = sessionID
        self.arg = arg
        self.isInternal = isInternal
        self.connectionID = connectionID
    }
}

/// An event to push to every connection of each listed user.
public struct EngineEvent: Equatable {
    /// Target user ids.
    public var userIDs: [String]
    /// The encoded event `{"type":"x:y","payload":...}`.
    public var json: [UInt8]

    /// Makes an event.
    public init(userIDs: [String], json: [UInt8]) {
        self.userIDs = userIDs
        self.json = json
    }
}

/// What one request produced. Records must be made durable before `response` and `events`
/// are released (README.md "How it is built", Store).
public struct EngineResult {
    /// The encoded response for the requesting connection.
    public var response: [UInt8]
    /// Events for other users' (and the requester's other) connections.
    public var events: [EngineEvent]
    /// Journal records, in order; empty when nothing changed.
    public var records: [[UInt8]]
    /// Set on a successful login or auth: the connection is now this user.
    public var authUserID: String?
    /// Set with `authUserID`: the session id (token hash hex).
    public var authSessionID: String?
    /// Set on logout: every connection of this session becomes unauthenticated;
    /// `SessionScope.everySession` for every session of the user (logout_all, change_password).
    public var endSessionID: String?
    /// Attachment files to make durable before `records` are journaled (a `message` with an
    /// attachment): the worker writes each under the fsync policy first, so recovery never
    /// finds a message whose file is missing.
    public var files: [AttachmentFile] = []
    /// Set on a `get_attachment` the requester may read: the worker reads the file and answers
    /// with `ShardEngine.attachmentResponse` (the engine does no I/O).
    public var attachmentRead: AttachmentRead?

    /// Makes a result.
    public init(response: [UInt8], events: [EngineEvent] = [], records: [[UInt8]] = [],
                authUserID: String? = nil, authSessionID: String? = nil, endSessionID: String? = nil) {
        self.response = response
        self.events = events
        self.records = records
        self.authUserID = authUserID
        self.authSessionID = authSessionID
        self.endSessionID = endSessionID
    }
}

/// The outcome of `handle`: finished, or waiting for a slow password hash to run off-loop.
public enum EngineStep {
    /// Done; send it.
    case done(EngineResult)
    /// Run `job.derive()` on a thread pool, then call `ShardEngine.resume(job, derivedKey:)`
    /// on the engine's thread (which may ask for one more hash: change_password checks the old
    /// password, then hashes the new one).
    case needsPasswordHash(PasswordJob)
}

/// A PBKDF2 computation the engine needs before it can answer register or login.
public struct PasswordJob {
    /// What the job is for.
    enum Purpose {
        case register(username: String, displayName: String)
        /// `source`: where the check came from, for the throttle (`PasswordCheck`).
        case login(username: String, source: String)
        /// change_password, step 1: the old password is checked against the stored hash.
        case verifyForChange(username: String, source: String, newPassword: [UInt8])
        /// change_password, step 2: the new password's hash; `verifiedHash` is the stored hash
        /// step 1 matched (the change is refused if it changed meanwhile).
        case setNewPassword(username: String, verifiedHash: [UInt8])
    }

    /// The password's UTF-8 bytes.
    public let password: [UInt8]
    /// The salt: fresh for register, the stored one for login.
    public let salt: [UInt8]
    /// PBKDF2 iterations.
    public let iterations: Int
    /// Derived key length in bytes.
    public let keyLength: Int
    let purpose: Purpose
    let requestType: String
    let requestID: String?

    /// Runs PBKDF2-HMAC-SHA256 (slow by design; call it off the event loop).
    public func derive() -> [UInt8] {
        PBKDF2.deriveKey(password: password, salt: salt, iterations: iterations, length: keyLength)
    }
}

/// An attachment's bytes to store, named by their SHA-256 (lower-case hex).
public struct AttachmentFile: Equatable {
    /// The file name in the store: SHA-256 hex of `bytes`.
    public var sha256: String
    /// The decoded bytes.
    public var bytes: [UInt8]

    /// Makes a file to store.
    public init(sha256: String, bytes: [UInt8]) {
        self.sha256 = sha256
        self.bytes = bytes
    }
}

/// A `get_attachment` the engine allowed: what to read and how to label the answer.
public struct AttachmentRead: Equatable {
    /// The metadata (its `sha256` names the file).
    public var attachment: Attachment
    /// The request's type and id, for the answer.
    public var type: String
    /// See `type`.
    public var requestID: String?

    /// Makes a read.
    public init(attachment: Attachment, type: String, requestID: String?) {
        self.attachment = attachment
        self.type = type
        self.requestID = requestID
    }
}
