// ConnectionLog: the log events of a client connection (opened, closed with reason and duration, a slow request), never with a token or a password.
import TagarelaModel
import TagarelaSystem

extension ClientConnection {
    /// `connection_opened`, in the JSON format only: one line per connection is what a log
    /// pipeline wants and what a terminal (and the connect benchmark's 20k handshakes a second)
    /// does not, so the text format keeps today's quiet.
    func logOpened() {
        let writer = loop.logWriter
        guard writer.format == .json else { return }
        writer.event("connection_opened", message: "connection \(id) opened from \(host)", [
            ("connection", .int(Int64(bitPattern: id))), ("loop", .int(Int64(loop.loopIndex))), ("peer", .string(host)),
        ])
    }

    /// `connection_closed` with its transport, user (an id, public in the protocol), how long it
    /// lived and why it ended (`closeReason`, "peer" when the client closed or vanished).
    func logClosed() {
        let writer = loop.logWriter
        guard writer.format == .json else { return }
        var fields: [(String, LogField)] = [
            ("connection", .int(Int64(bitPattern: id))), ("loop", .int(Int64(loop.loopIndex))), ("peer", .string(host)),
            ("transport", .string(transportName)), ("duration_ms", .int(loop.nowMs - openedMs)),
            ("reason", .string(closeReason.isEmpty ? "peer" : closeReason)),
        ]
        if !session.userID.isEmpty { fields.append(("user", .string(session.userID))) }
        writer.event("connection_closed", message: "connection \(id) closed", fields)
    }

    /// `slow_request`: a request whose answer took `slowRequestMs` or more (in both formats:
    /// rare by definition). Its type and duration, never its body.
    func logSlowRequest(_ type: RequestType, durationNs: Int64) {
        let ms = durationNs / 1_000_000
        let message = "connection \(id): a \(type.rawValue) request took \(ms) ms"
        // Text lines go where every other gateway line goes (`GatewayConfig.log`).
        guard loop.logWriter.format == .json else { return loop.config.log(message) }
        loop.logWriter.event("slow_request", level: .warn, message: message, [
            ("connection", .int(Int64(bitPattern: id))), ("type", .string(type.rawValue)), ("duration_ms", .int(ms)),
        ])
    }

    private var transportName: String {
        switch transport {
        case .pending: return "pending"
        case .http: return "http"
        case .webSocket: return "websocket"
        case .echo: return "echo"
        case .ndjson: return "ndjson"
        }
    }
}
