// RequestEnvelope: parses one client request and checks the fields every request shares (type, request_id).
import TagarelaJSON
import enum TagarelaModel.FieldLimits
import enum TagarelaModel.FieldRules
import enum TagarelaModel.RequestType

/// One client request after the checks that do not depend on its type (PROTOCOL.md 2).
public enum RequestEnvelope {
    /// `request_id` longer than this is `bad_request` (PROTOCOL.md 2): the model's bound for
    /// every id, so the gateway and the worker cannot disagree on it.
    public static let requestIDCharactersMax = FieldLimits.idMax

    /// A request that passed the shared checks.
    case valid(type: RequestType, requestID: String?, json: JSON)
    /// A request to answer with an error and forget; the connection stays open.
    case invalid(type: String, requestID: String?, message: String)

    /// Parses `bytes` (one WebSocket message or one NDJSON line) and classifies it.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> RequestEnvelope {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            return .invalid(type: "error", requestID: salvageRequestID(bytes),
                            message: "request is not valid JSON (\(error))")
        }
        return classify(json)
    }

    /// The `request_id` of a request the strict parser refused, when it can still be read:
    /// the first `"request_id"` key followed by a plain string (no escapes) of at most
    /// `requestIDCharactersMax` scalars. PROTOCOL.md 2 asks for the id "when one could be read", so that a client can
    /// tell which of its requests failed; anything less certain gives nil.
    static func salvageRequestID(_ bytes: UnsafeRawBufferPointer) -> String? {
        let key = Array(#""request_id""#.utf8)
        guard bytes.count > key.count else { return nil }
        var i = 0
        search: while i + key.count <= bytes.count {
            for j in 0..<key.count where bytes[i + j] != key[j] {
                i += 1
                continue search
            }
            var k = i + key.count
            func skipSpace() { while k < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[k]) { k += 1 } }
            skipSpace()
            guard k < bytes.count, bytes[k] == UInt8(ascii: ":") else { return nil }
            k += 1
            skipSpace()
            guard k < bytes.count, bytes[k] == UInt8(ascii: "\"") else { return nil }
            let start = k + 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
                end += 1
            }
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
            guard let id = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self),
                  id.unicodeScalars.count <= requestIDCharactersMax else { return nil }
            return id
        }
        return nil
    }

    /// Classifies an already parsed value.
    public static func classify(_ json: JSON) -> RequestEnvelope {
        guard case .object(let object) = json else {
            return .invalid(type: "error", requestID: nil, message: "request must be a JSON object")
        }
        var requestID: String? = nil
        if let rid = object["request_id"] {
            switch rid {
            case .string(let s) where s.unicodeScalars.count <= requestIDCharactersMax:
                requestID = s
            case .null:
                break
            default:
                return .invalid(type: echoedType(object["type"]?.string), requestID: nil,
                                message: "request_id must be a string of at most \(requestIDCharactersMax) characters")
            }
        }
        guard let typeValue = object["type"] else {
            return .invalid(type: "error", requestID: requestID, message: "missing field: type")
        }
        guard let typeName = typeValue.string else {
            return .invalid(type: "error", requestID: requestID, message: "type must be a string")
        }
        // The internal types (`users_exist`, `user_chats`) are unknown to clients.
        guard let type = RequestType(rawValue: typeName), !type.isInternal else {
            return .invalid(type: echoedType(typeName), requestID: requestID, message: "unknown request type")
        }
        return .valid(type: type, requestID: requestID, json: json)
    }

    /// The `type` an error answer carries: the client's, when it is a string of at most 64
    /// characters (the answer stays small), else `error`; the worker's parser echoes the same.
    static func echoedType(_ typeName: String?) -> String {
        guard let t = typeName, FieldRules.hasAtMost(t, FieldLimits.idMax) else { return "error" }
        return t
    }
}
