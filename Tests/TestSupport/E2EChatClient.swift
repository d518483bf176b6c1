// E2EChatClient: the chat protocol of PROTOCOL.md section 2 over either transport: requests matched to responses, events kept aside.
import Foundation

/// A text-message transport: a WebSocket or a raw TCP NDJSON connection.
public protocol E2ETextTransport: AnyObject {
    /// Sends one JSON text as one message (WebSocket) or one line (NDJSON).
    func sendText(_ text: String) throws
    /// Sends several JSON texts in one write (pipelining, floods).
    func sendTexts(_ texts: [String]) throws
    /// The next message the server sent; `E2EError.closed` when the server closed.
    func receiveText(timeoutMs: Int) throws -> String
    /// Closes the connection.
    func close()
}

/// The client transports of PROTOCOL.md section 1: WebSocket (JSON or, with the `tagarela.cbor`
/// subprotocol, CBOR) and raw TCP.
public enum E2ETransportKind: String, CaseIterable {
    case webSocket = "ws"
    case ndjson = "tcp"
    case cbor = "cbor"

    /// Opens a connection of this kind to 127.0.0.1:`port`.
    public func connect(port: Int) throws -> E2ETextTransport {
        switch self {
        case .webSocket: return try E2EWebSocketClient(port: port)
        case .ndjson: return try E2ENDJSONClient(port: port)
        case .cbor: return try E2ECBORClient(port: port)
        }
    }
}

/// One client connection speaking the chat protocol.
///
/// Every request gets a fresh `request_id`; `request` reads until the response with that id
/// arrives and keeps everything else (events, other responses) in `inbox`, from which `event`
/// takes what a test expects, so the order in which a server interleaves them does not matter.
public final class E2EChatClient {
    /// The connection.
    public let transport: E2ETextTransport
    /// Messages received and not yet claimed by a test, oldest first.
    public private(set) var inbox: [E2EJSON] = []
    /// A label for failure messages (user and connection).
    public var label: String
    /// The default per-operation deadline.
    public var timeoutMs: Int
    private var nextRequest = 0

    /// Opens a connection of `kind` to 127.0.0.1:`port`.
    public init(_ kind: E2ETransportKind, port: Int, label: String = "", timeoutMs: Int = 5000) throws {
        transport = try kind.connect(port: port)
        self.label = label.isEmpty ? kind.rawValue : label
        self.timeoutMs = timeoutMs
    }

    /// Wraps an open transport.
    public init(transport: E2ETextTransport, label: String, timeoutMs: Int = 5000) {
        self.transport = transport
        self.label = label
        self.timeoutMs = timeoutMs
    }

    deinit { transport.close() }

    /// Closes the connection.
    public func close() { transport.close() }

    // MARK: - Raw traffic

    /// Sends `text` as it is (invalid JSON included).
    public func sendRaw(_ text: String) throws {
        try transport.sendText(text)
    }

    /// The next message from the wire (the inbox is not consulted).
    public func receive(timeoutMs: Int? = nil) throws -> E2EJSON {
        let text = try transport.receiveText(timeoutMs: timeoutMs ?? self.timeoutMs)
        do {
            return try E2EJSON.parse(text)
        } catch {
            throw E2EError.protocolViolation("\(label) received non-JSON: \(text.prefix(300))")
        }
    }

    /// A fresh request id.
    public func newRequestID() -> String {
        nextRequest += 1
        return "\(label)-\(nextRequest)"
    }

    /// The JSON text of a request.
    public static func requestText(_ type: String, _ fields: [(String, E2EJSON)], requestID: String) -> String {
        E2EJSON.object([("type", .string(type)), ("request_id", .string(requestID))] + fields).description
    }

    /// Sends many requests in one write; `requests` are (type, fields, request_id).
    public func sendPipelined(_ requests: [(String, [(String, E2EJSON)], String)]) throws {
        try transport.sendTexts(requests.map { E2EChatClient.requestText($0.0, $0.1, requestID: $0.2) })
    }

    /// Sends `{"type": type, "request_id": id, fields...}` and returns `id`.
    @discardableResult
    public func send(_ type: String, _ fields: [(String, E2EJSON)] = [], requestID: String? = nil) throws -> String {
        let id = requestID ?? newRequestID()
        try transport.sendText(E2EChatClient.requestText(type, fields, requestID: id))
        return id
    }

    /// Sends a request and returns its response (same `request_id`), keeping anything else in the inbox.
    public func request(_ type: String, _ fields: [(String, E2EJSON)] = [], timeoutMs: Int? = nil) throws -> E2EJSON {
        let id = try send(type, fields)
        return try response(to: id, timeoutMs: timeoutMs)
    }

    /// The response carrying `request_id` == `id`, from the inbox or the wire.
    public func response(to id: String, timeoutMs: Int? = nil) throws -> E2EJSON {
        try take(what: "the response to \(id)", timeoutMs: timeoutMs) { $0["request_id"]?.string == id }
    }

    /// Like `request`, but fails unless the response's status is "ok"; returns the response.
    public func ok(_ type: String, _ fields: [(String, E2EJSON)] = [], timeoutMs: Int? = nil) throws -> E2EJSON {
        let reply = try request(type, fields, timeoutMs: timeoutMs)
        guard reply["status"]?.string == "ok" else {
            throw E2EError.protocolViolation("\(label): \(type) \(E2EJSON.object(fields)) failed: \(reply)")
        }
        return reply
    }

    // MARK: - Events

    /// The first event of `type` matching `predicate`, from the inbox or the wire.
    public func event(_ type: String, timeoutMs: Int? = nil,
                      where predicate: (E2EJSON) -> Bool = { _ in true }) throws -> E2EJSON {
        try take(what: "event \(type)", timeoutMs: timeoutMs) { $0["type"]?.string == type && $0["request_id"] == nil && predicate($0) }
    }

    /// Events of `type` now in the inbox (nothing is read from the wire), removed from it.
    public func drainEvents(_ type: String) -> [E2EJSON] {
        let found = inbox.filter { $0["type"]?.string == type && $0["request_id"] == nil }
        inbox.removeAll { $0["type"]?.string == type && $0["request_id"] == nil }
        return found
    }

    /// Makes sure everything the server sent before this call has been read into the inbox:
    /// a `get_presence` round trip, which the gateway answers itself, after any earlier output
    /// to this connection (one connection's output is written in order). Any status will do, so
    /// it works on unauthenticated connections too.
    public func barrier() throws {
        _ = try request("get_presence", [("user_ids", .array([]))])
    }

    private func take(what: String, timeoutMs: Int?, _ matches: (E2EJSON) -> Bool) throws -> E2EJSON {
        if let i = inbox.firstIndex(where: matches) { return inbox.remove(at: i) }
        let deadline = Date().addingTimeInterval(Double(timeoutMs ?? self.timeoutMs) / 1000)
        while true {
            let left = Int(deadline.timeIntervalSinceNow * 1000)
            guard left > 0 else { throw E2EError.timedOut("\(label): \(what); inbox: \(inbox)") }
            let message: E2EJSON
            do {
                message = try receive(timeoutMs: left)
            } catch E2EError.timedOut {
                throw E2EError.timedOut("\(label): \(what); inbox: \(inbox)")
            }
            if matches(message) { return message }
            inbox.append(message)
        }
    }
}

/// One registered user with a password, for building scenarios.
public struct E2EUser {
    public let name: String
    public let password: String
    public init(_ name: String, password: String = "correct horse battery") {
        self.name = name
        self.password = password
    }
}

extension E2EChatClient {
    /// `register` then `login` on this connection; returns the token.
    @discardableResult
    public func registerAndLogin(_ user: E2EUser, displayName: String? = nil) throws -> String {
        var fields: [(String, E2EJSON)] = [("username", .string(user.name)), ("password", .string(user.password))]
        if let displayName = displayName { fields.append(("display_name", .string(displayName))) }
        _ = try ok("register", fields)
        return try login(user)
    }

    /// `login` on this connection; returns the token.
    @discardableResult
    public func login(_ user: E2EUser) throws -> String {
        let reply = try ok("login", [("username", .string(user.name)), ("password", .string(user.password))])
        guard let token = reply["token"]?.string else {
            throw E2EError.protocolViolation("login response without a token: \(reply)")
        }
        return token
    }

    /// Sends a message to `chatID` and returns the stored message object.
    @discardableResult
    public func sendMessage(_ chatID: String, _ content: String, clientMsgID: String? = nil) throws -> E2EJSON {
        var fields: [(String, E2EJSON)] = [("chat_id", .string(chatID)), ("content", .string(content))]
        if let id = clientMsgID { fields.append(("client_msg_id", .string(id))) }
        let reply = try ok("message", fields)
        guard let message = reply["message"] else {
            throw E2EError.protocolViolation("message response without a message: \(reply)")
        }
        return message
    }
}
