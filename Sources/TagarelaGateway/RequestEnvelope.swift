// RequestEnvelope: one client message as the gateway reads it: the model's routing facts, or the model's refusal.
import TagarelaModel

/// A client request (PROTOCOL.md 2) read by `Request.routing`: what every request shares and the
/// fields its route needs, by the model's rules and in the order the worker's `Request.parse`
/// reads them. The gateway has no field rule of its own, so the two sides cannot drift; the
/// worker validates the rest.
enum RequestEnvelope {
    /// Route it.
    case valid(RoutingFacts)
    /// Refused; `failure.knownType` tells a field failure of a known type (answered after that
    /// type's own checks, authentication first) from a failure of what every request shares
    /// (answered at once). The connection stays open either way.
    case invalid(RequestFailure)

    /// Reads `bytes` (one WebSocket message or one NDJSON line).
    static func parse(_ bytes: UnsafeRawBufferPointer) -> RequestEnvelope {
        do {
            return .valid(try Request.routing(bytes))
        } catch {
            return .invalid(error)
        }
    }

    /// The `type` and `request_id` an answer to this request carries.
    var label: RequestLabel {
        switch self {
        case .valid(let facts):
            return RequestLabel(type: facts.type.rawValue, requestID: facts.requestID, requestType: facts.type)
        case .invalid(let failure):
            return RequestLabel(type: failure.type, requestID: failure.requestID, requestType: failure.knownType)
        }
    }
}
