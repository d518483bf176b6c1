// HTTPEndpoint: decides what a parsed HTTP request head gets (upgrade, page, health, metrics or an error), without sockets.
import TagarelaWire

/// What the gateway does with one HTTP request head (PROTOCOL.md 1).
public enum HTTPAction: Equatable {
    /// Upgrade to WebSocket: write `response` (the 101) and start framing; `echo` for the echo
    /// route; `deflate` when permessage-deflate was negotiated.
    case upgrade(response: [UInt8], echo: Bool, deflate: PerMessageDeflateAgreement?)
    /// Write these bytes (a complete response with `Connection: close`) and close.
    case respond([UInt8])
    /// Answer `/healthz` once the worker links have answered (`headOnly` for `HEAD`).
    case health(headOnly: Bool)
    /// Answer `/metrics` once every loop's counters are gathered.
    case metrics(headOnly: Bool)
    /// `GET /attachments/<chat_id>/<attachment_id>`: run `auth` and `get_attachment` for it.
    case attachment(AttachmentRoute)
}

/// Maps request heads to `HTTPAction`s and builds the gateway's own HTTP responses.
public enum HTTPEndpoint {
    /// The WebSocket route of the chat protocol.
    public static let webSocketPath = "/ws"

    /// The action for `head`; `echoPath` is the echo route when it is on; `deflate` offers
    /// permessage-deflate (both routes negotiate it the same way).
    public static func action(for head: HTTPRequestHead, echoPath: String?, allowedOrigins: [String]?,
                              deflate: Bool = false) -> HTTPAction {
        let path = head.path
        let isWebSocketRoute = path == webSocketPath || (echoPath != nil && path == echoPath)
        if isWebSocketRoute {
            // WebSocketHandshake checks the method too (405 with Allow: GET), and answers 426 for
            // a wrong version, 403 for a foreign Origin and 400 for anything else malformed.
            // The echo route speaks no protocol of ours, so it answers no subprotocol.
            let subprotocol = path == webSocketPath ? WebSocketSubprotocol.select(head) : nil
            let agreement = deflate ? PerMessageDeflate.negotiate(head.values(of: "Sec-WebSocket-Extensions")) : nil
            switch WebSocketHandshake.evaluate(head, allowedOrigins: allowedOrigins, subprotocol: subprotocol,
                                               extensions: agreement?.responseHeaderValue) {
            case .accept(let response):
                return .upgrade(response: response, echo: path != webSocketPath, deflate: agreement)
            case .reject(let status, let reason, let headers):
                let response = HTTPResponse.error(status: status, message: reason, headers: headers)
                return .respond(head.method == "HEAD" ? headOnly(response) : response)
            }
        }
        let headOnly = head.method == "HEAD"
        guard head.method == "GET" || headOnly else {
            return .respond(HTTPResponse.error(status: 405, message: "method not allowed",
                                               headers: [("Allow", "GET, HEAD")]))
        }
        switch path {
        case "/":
            return .respond(page(headOnly: headOnly))
        case libraryPath:
            return .respond(library(headOnly: headOnly))
        case "/healthz":
            return .health(headOnly: headOnly)
        case "/metrics":
            return .metrics(headOnly: headOnly)
        case _ where path.hasPrefix(AttachmentRoute.prefix):
            guard let route = AttachmentRoute(head) else { return .respond(AttachmentRoute.notFound(headOnly: headOnly)) }
            return .attachment(route)
        default:
            let response = HTTPResponse.error(status: 404, message: "not found")
            return .respond(headOnly ? Self.headOnly(response) : response)
        }
    }

    /// `response` without its body: the answer to a `HEAD` carries the headers a `GET` would get,
    /// `Content-Length` included, and nothing after them (RFC 9110 section 9.3.2).
    static func headOnly(_ response: [UInt8]) -> [UInt8] {
        let end: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        guard response.count >= 4 else { return response }
        for i in 0...(response.count - 4) where response[i] == 0x0D && Array(response[i..<i + 4]) == end {
            return Array(response[..<(i + 4)])
        }
        return response
    }

    /// The built-in web client page.
    static func page(headOnly: Bool) -> [UInt8] {
        ok(contentType: "text/html; charset=utf-8", body: WebClientPage.bytes, headOnly: headOnly,
           extraHeaders: [("Cache-Control", "no-cache")])
    }

    /// Where the JavaScript client library is served (README "JavaScript client").
    public static let libraryPath = "/tagarela.js"

    /// The JavaScript client library, an ES module (the page imports it from the same origin).
    static func library(headOnly: Bool) -> [UInt8] {
        ok(contentType: "text/javascript; charset=utf-8", body: WebClientLibrary.bytes, headOnly: headOnly,
           extraHeaders: [("Cache-Control", "no-cache")])
    }

    /// The `/healthz` answer: 200 with `{"status":"ok",...}` when every worker link answered its
    /// ping in time, 503 with the workers that did not otherwise. `unresponsive_workers` lists
    /// those connected but missing their link heartbeat (stopped or stuck, not restarting):
    /// what the supervisor kills and restarts.
    public static func health(downWorkers: [Int], unresponsiveWorkers: [Int] = [], workers: Int, loops: Int,
                              headOnly: Bool) -> [UInt8] {
        let healthy = downWorkers.isEmpty && unresponsiveWorkers.isEmpty
        let down = downWorkers.map(String.init).joined(separator: ",")
        let unresponsive = unresponsiveWorkers.map(String.init).joined(separator: ",")
        let body = "{\"status\":\"\(healthy ? "ok" : "unavailable")\",\"workers\":\(workers),"
            + "\"loops\":\(loops),\"down_workers\":[\(down)],\"unresponsive_workers\":[\(unresponsive)]}\n"
        return HTTPResponse.encode(status: healthy ? 200 : 503,
                                   headers: [("Content-Type", "application/json"), ("Cache-Control", "no-cache"),
                                             ("Content-Length", String(body.utf8.count)), ("Connection", "close")],
                                   body: headOnly ? [] : Array(body.utf8))
    }

    /// The `/metrics` answer carrying `text` (Prometheus exposition).
    public static func metrics(_ text: String, headOnly: Bool) -> [UInt8] {
        ok(contentType: MetricsRenderer.contentType, body: Array(text.utf8), headOnly: headOnly, extraHeaders: [])
    }

    /// A 200 that closes; a `HEAD` gets the same headers and no body (RFC 9110 section 9.3.2).
    static func ok(contentType: String, body: [UInt8], headOnly: Bool, extraHeaders: [(String, String)]) -> [UInt8] {
        HTTPResponse.encode(status: 200,
                            headers: [("Content-Type", contentType), ("Content-Length", String(body.count))]
                                + extraHeaders + [("Connection", "close")],
                            body: headOnly ? [] : body)
    }
}
