// Mutation: every state change of a shard, and its journal record encoding (one compact JSON object).

import TagarelaJSON
import TagarelaModel

/// One change to shard state. Live requests build a mutation, apply it and journal its
/// record; replay decodes the record and applies the same mutation, so both paths run the
/// same code and reach the same state.
enum Mutation: Equatable {
    case userCreated(username: String, displayName: String, createdAt: Int64, salt: [UInt8], hash: [UInt8], iterations: Int)
    case sessionStarted(sessionID: String, username: String, expiresAt: Int64)
    case sessionEnded(sessionID: String)
    /// logout_all: every session of the user ends.
    case allSessionsEnded(username: String)
    /// change_password, in one record so no crash can keep the new password with the old
    /// sessions: the new hash is stored, every session of the user ends, and `sessionID` starts.
    case passwordChanged(username: String, salt: [UInt8], hash: [UInt8], iterations: Int, sessionID: String, expiresAt: Int64)
    case chatCreated(id: String, kind: String, name: String?, members: [String], createdAt: Int64, creator: String)
    case memberAdded(chatID: String, userID: String)
    case memberRemoved(chatID: String, userID: String)
    /// Also moves the sender's marker to `seq` at `timestamp`.
    /// `attachment`'s file (named by its SHA-256) is durable before this record is written.
    case messageStored(chatID: String, seq: Int64, sender: String, content: String, timestamp: Int64, clientMsgID: String?,
                       attachment: Attachment? = nil)
    case markerMoved(chatID: String, userID: String, seq: Int64, at: Int64)

    /// The journal record: `{"op": ..., fields...}`. Field names are short because the
    /// message record is written once per chat message.
    func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        switch self {
        case let .userCreated(username, displayName, createdAt, salt, hash, iterations):
            w.key("op"); w.string("user")
            w.key("u"); w.string(username)
            w.key("dn"); w.string(displayName)
            w.key("at"); w.int(createdAt)
            w.key("salt"); w.string(hex(salt))
            w.key("hash"); w.string(hex(hash))
            w.key("it"); w.int(iterations)
        case let .sessionStarted(sessionID, username, expiresAt):
            w.key("op"); w.string("login")
            w.key("sid"); w.string(sessionID)
            w.key("u"); w.string(username)
            w.key("exp"); w.int(expiresAt)
        case let .sessionEnded(sessionID):
            w.key("op"); w.string("logout")
            w.key("sid"); w.string(sessionID)
        case let .allSessionsEnded(username):
            w.key("op"); w.string("logout_all")
            w.key("u"); w.string(username)
        case let .passwordChanged(username, salt, hash, iterations, sessionID, expiresAt):
            w.key("op"); w.string("password")
            w.key("u"); w.string(username)
            w.key("salt"); w.string(hex(salt))
            w.key("hash"); w.string(hex(hash))
            w.key("it"); w.int(iterations)
            w.key("sid"); w.string(sessionID)
            w.key("exp"); w.int(expiresAt)
        case let .chatCreated(id, kind, name, members, createdAt, creator):
            w.key("op"); w.string("chat")
            w.key("c"); w.string(id)
            w.key("kind"); w.string(kind)
            w.key("name"); w.stringOrNull(name)
            w.key("m")
            w.beginArray()
            for m in members { w.string(m) }
            w.endArray()
            w.key("at"); w.int(createdAt)
            w.key("by"); w.string(creator)
        case let .memberAdded(chatID, userID):
            w.key("op"); w.string("add")
            w.key("c"); w.string(chatID)
            w.key("u"); w.string(userID)
        case let .memberRemoved(chatID, userID):
            w.key("op"); w.string("remove")
            w.key("c"); w.string(chatID)
            w.key("u"); w.string(userID)
        case let .messageStored(chatID, seq, sender, content, timestamp, clientMsgID, attachment):
            w.key("op"); w.string("msg")
            w.key("c"); w.string(chatID)
            w.key("s"); w.int(seq)
            w.key("u"); w.string(sender)
            w.key("t"); w.string(content)
            w.key("at"); w.int(timestamp)
            if let k = clientMsgID {
                w.key("k"); w.string(k)
            }
            if let a = attachment {
                // The id is the seq, so it is not stored.
                w.key("a"); AttachmentImage.write(a, to: &w)
            }
        case let .markerMoved(chatID, userID, seq, at):
            w.key("op"); w.string("read")
            w.key("c"); w.string(chatID)
            w.key("u"); w.string(userID)
            w.key("s"); w.int(seq)
            w.key("at"); w.int(at)
        }
        w.endObject()
        return w.bytes
    }

    /// Decodes a journal record.
    static func decode(_ bytes: [UInt8]) throws(ShardDataError) -> Mutation {
        let j: JSON
        do {
            j = try JSON.parse(bytes)
        } catch {
            throw .corrupt("journal record is not JSON: \(error)")
        }
        let r = FieldReader(json: j, what: "journal record")
        switch try r.string("op") {
        case "user":
            return .userCreated(username: try r.string("u"), displayName: try r.string("dn"), createdAt: try r.int("at"),
                                salt: try r.hexBytes("salt"), hash: try r.hexBytes("hash"), iterations: Int(try r.int("it")))
        case "login":
            return .sessionStarted(sessionID: try r.string("sid"), username: try r.string("u"), expiresAt: try r.int("exp"))
        case "logout":
            return .sessionEnded(sessionID: try r.string("sid"))
        case "logout_all":
            return .allSessionsEnded(username: try r.string("u"))
        case "password":
            return .passwordChanged(username: try r.string("u"), salt: try r.hexBytes("salt"), hash: try r.hexBytes("hash"),
                                    iterations: Int(try r.int("it")), sessionID: try r.string("sid"), expiresAt: try r.int("exp"))
        case "chat":
            return .chatCreated(id: try r.string("c"), kind: try r.string("kind"), name: r.optionalString("name"),
                                members: try r.strings("m"), createdAt: try r.int("at"), creator: try r.string("by"))
        case "add":
            return .memberAdded(chatID: try r.string("c"), userID: try r.string("u"))
        case "remove":
            return .memberRemoved(chatID: try r.string("c"), userID: try r.string("u"))
        case "msg":
            let seq = try r.int("s")
            return .messageStored(chatID: try r.string("c"), seq: seq, sender: try r.string("u"),
                                  content: try r.string("t"), timestamp: try r.int("at"), clientMsgID: r.optionalString("k"),
                                  attachment: try r.json["a"].map { j throws(ShardDataError) in try AttachmentImage.read(j, seq: seq) })
        case "read":
            return .markerMoved(chatID: try r.string("c"), userID: try r.string("u"), seq: try r.int("s"), at: try r.int("at"))
        case let op:
            throw .corrupt("unknown journal op '\(op)'")
        }
    }
}

func hex(_ bytes: [UInt8]) -> String {
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    let digits = Array("0123456789abcdef".utf8)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Loading a snapshot or replaying a journal found data this engine cannot read.
public enum ShardDataError: Error, Equatable, CustomStringConvertible {
    /// The bytes do not describe a valid state or change; the text says what and where.
    case corrupt(String)

    /// The reason.
    public var description: String {
        switch self {
        case .corrupt(let why): return "shard data corrupt: \(why)"
        }
    }
}

/// Typed field access for records and snapshots, failing with `ShardDataError`.
struct FieldReader {
    let json: JSON
    let what: String

    func value(_ key: String) throws(ShardDataError) -> JSON {
        guard let v = json[key] else { throw .corrupt("\(what) lacks '\(key)'") }
        return v
    }

    func string(_ key: String) throws(ShardDataError) -> String {
        guard let s = try value(key).string else { throw .corrupt("\(what) field '\(key)' is not a string") }
        return s
    }

    func optionalString(_ key: String) -> String? { json[key]?.string }

    func int(_ key: String) throws(ShardDataError) -> Int64 {
        guard let n = try value(key).int else { throw .corrupt("\(what) field '\(key)' is not an integer") }
        return n
    }

    func strings(_ key: String) throws(ShardDataError) -> [String] {
        guard let a = try value(key).array else { throw .corrupt("\(what) field '\(key)' is not an array") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for item in a {
            guard let s = item.string else { throw .corrupt("\(what) field '\(key)' holds a non-string") }
            out.append(s)
        }
        return out
    }

    func array(_ key: String) throws(ShardDataError) -> [JSON] {
        guard let a = try value(key).array else { throw .corrupt("\(what) field '\(key)' is not an array") }
        return a
    }

    func hexBytes(_ key: String) throws(ShardDataError) -> [UInt8] {
        guard let b = TokenCodec.bytes(fromHex: try string(key)) else { throw .corrupt("\(what) field '\(key)' is not hex") }
        return b
    }
}
