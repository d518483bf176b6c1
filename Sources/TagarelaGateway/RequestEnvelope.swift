// RequestEnvelope: parses one client request and checks the fields every request shares (type, request_id).
import TagarelaJSON
import enum TagarelaModel.RequestType

/// One client request after the checks that do not depend on its type (PROTOCOL.md 2).
public enum RequestEnvelope {
    /// `request_id` longer than this is `bad_request` (PROTOCOL.md 2, "at most 64 characters").
    public static let requestIDCharactersMax = 64

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
            return .invalid(type: "error", requestID: nil, message: "request is not valid JSON (\(error))")
        }
        return classify(json)
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
                let typeName = object["type"]?.string ?? "error"
                return .invalid(type: typeName, requestID: nil,
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
            // Echo the client's type only when it is a sane token, so the answer stays small.
            let echoed = typeName.utf8.count <= 64 ? typeName : "error"
            return .invalid(type: echoed, requestID: requestID, message: "unknown request type")
        }
        return .valid(type: type, requestID: requestID, json: json)
    }
}
