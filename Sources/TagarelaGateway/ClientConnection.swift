// ClientConnection: one client's state machine on its loop: sniff, HTTP head, then WebSocket or NDJSON lines.
import TagarelaEventLoop
import enum TagarelaModel.Responses
import TagarelaWire

/// The transport a connection settled on, for metrics, fan-out encoding and timeouts.
enum ClientTransport: UInt8 {
    /// Still sniffing or reading its HTTP head (the handshake timeout applies).
    case pending
    /// Answering a plain HTTP request, then closing.
    case http
    case webSocket
    case echo
    case ndjson
}

/// One client connection. Kept small (the gateway is held to 2 KiB per idle WebSocket): the
/// parsers allocate only while a message is split across reads, nothing else is buffered, and
/// the loop's shared read buffer is parsed in place.
final class ClientConnection: ChannelHandler {
    /// The protocol machine of the current phase. Taken out of `phase` while it runs (the
    /// `.busy` placeholder) so that mutating it never copies its buffers.
    enum Phase {
        case sniffing(ProtocolSniffer)
        case head(HTTPHeadParser)
        case webSocket(WebSocketConnection)
        case lines(NDJSONFramer)
        case inert
        case busy
    }

    /// The loop, seen through the narrow interface it offers connections.
    unowned let loop: any ConnectionHost
    /// The channel, set right after registration; the connection id is `channel.id`.
    var channel: Channel!
    /// The peer's address, for the per-IP connection count.
    let host: String
    var phase: Phase = .sniffing(ProtocolSniffer())
    private(set) var transport: ClientTransport = .pending
    /// Identity, request order, owed answers and multi-shard requests (`Session`); fed
    /// through `drive`, which carries out what it returns.
    var session = Session()
    /// Accept time while pending, then the time of the latest input (idle pings).
    var stampMs: Int64
    /// When the idle ping went out (0 = none outstanding).
    var pingSentMs: Int64 = 0
    /// When a server-initiated close gives up waiting for the peer's close (0 = not closing).
    var closeDeadlineMs: Int64 = 0
    /// A WebSocket close the session asked for while the machine was running.
    var pendingClose: (code: CloseCode, reason: String)?
    /// When the unfinished line or message began (0 = none): `Limits.partialInputTimeoutMs`.
    var partialSinceMs: Int64 = 0
    /// Heap bytes of unfinished input, as last reported to the loop's `PartialInputBudget`.
    var partialBytes = 0
    /// A line or message was completed during the current read.
    var completedInput = false
    /// Delivery timing (`DeliveryClock`): when the oldest unwritten event copy's link frame
    /// came (0 = none waiting), and how many copies wait with it.
    var deliveryStampNs: Int64 = 0
    var deliveriesWaiting: UInt64 = 0
    /// Why the gateway closed the connection ("" = the peer closed it, or a write failed), for
    /// the connection_closed log event.
    var closeReason = ""
    /// When the connection was accepted (its closing log line's duration).
    let openedMs: Int64
    /// The WebSocket client asked for `tagarela.cbor`: CBOR on binary frames both ways.
    var speaksCBOR = false
    /// The attachment an HTTP request waits for (AttachmentRoute); a reference, so an idle
    /// connection pays one pointer for it.
    var attachmentFetch: AttachmentFetch?
    /// permessage-deflate: 0 when not negotiated, else the largest window (8-15) our compressed
    /// messages may use. One byte: the connection holds no zlib state (`LoopCompression`).
    private(set) var deflateWindowBits: UInt8 = 0

    init(loop: any ConnectionHost, host: String, nowMs: Int64) {
        self.loop = loop
        self.host = host
        self.stampMs = nowMs
        self.openedMs = nowMs
    }

    /// The connection id the worker link carries (`excludeConnectionID` of events).
    var id: UInt64 { channel.id }
    var isClosed: Bool { channel.isClosed }
    var isWebSocketTransport: Bool { transport == .webSocket }

    /// Moves to `t`, keeping the per-transport gauges right.
    func setTransport(_ t: ClientTransport) {
        loop.counters.adjustTransport(transport, by: -1)
        transport = t
        loop.counters.adjustTransport(t, by: 1)
    }

    // MARK: - Input

    func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
        loop.counters.bytesIn += bytes.count
        completedInput = false
        defer { if !channel.isClosed { noteUnfinishedInput() } }
        switch phase {
        case .sniffing(var sniffer):
            switch sniffer.feed(UnsafeRawBufferPointer(bytes)) {
            case .needMore:
                phase = .sniffing(sniffer)
            case .http:
                startHead(earlier: sniffer.earlierBytes, bytes)
            case .raw:
                startLines(earlier: sniffer.earlierBytes, bytes)
            }
        case .head(var parser):
            phase = .busy
            feedHead(&parser, bytes)
        case .webSocket:
            stampMs = loop.nowMs
            pingSentMs = 0
            feedWebSocket(bytes)
        case .lines:
            feedLines(bytes)
        case .inert, .busy:
            break
        }
    }

    private func startHead(earlier: [UInt8], _ bytes: UnsafeMutableRawBufferPointer) {
        var parser = HTTPHeadParser(limits: loop.limits)
        phase = .busy
        if !earlier.isEmpty {
            // A proper prefix of a method token: never completes a head on its own.
            _ = earlier.withUnsafeBytes { parser.feed($0) }
        }
        feedHead(&parser, bytes)
    }

    private func feedHead(_ parser: inout HTTPHeadParser, _ bytes: UnsafeMutableRawBufferPointer) {
        switch parser.feed(UnsafeRawBufferPointer(bytes)) {
        case .needMore:
            phase = .head(parser)
        case .failed(let error):
            respondAndClose(HTTPResponse.error(error), refusedHandshake: true)
        case .complete(let head, let consumed):
            handleHead(head, rest: UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...]))
        }
    }

    private func handleHead(_ head: HTTPRequestHead, rest: UnsafeMutableRawBufferPointer) {
        let action = HTTPEndpoint.action(for: head, echoPath: loop.config.echoPath,
                                         allowedOrigins: loop.config.allowedOrigins, deflate: loop.compression != nil)
        switch action {
        case .upgrade(let response, let echo, let deflate):
            loop.counters.handshakesAccepted += 1
            channel.write(response)
            loop.counters.bytesOut += response.count
            deflateWindowBits = deflate?.serverMaxWindowBits ?? 0
            phase = .webSocket(WebSocketConnection(limits: loop.limits, deflate: deflate != nil))
            // The same choice HTTPEndpoint answered in the 101 (PROTOCOL.md 1.3).
            speaksCBOR = !echo && WebSocketSubprotocol.select(head) == WebSocketSubprotocol.cbor
            setTransport(echo ? .echo : .webSocket)
            stampMs = loop.nowMs
            if rest.count > 0 { feedWebSocket(rest) }
        case .respond(let bytes):
            let isUpgradeRoute = head.path == HTTPEndpoint.webSocketPath || head.path == loop.config.echoPath
            respondAndClose(bytes, refusedHandshake: isUpgradeRoute)
        case .health(let headOnly):
            loop.counters.httpRequests += 1
            phase = .inert
            setTransport(.http)
            loop.checkHealth { [self] down, unresponsive in
                let bytes = HTTPEndpoint.health(downWorkers: down, unresponsiveWorkers: unresponsive,
                                                workers: loop.config.workers,
                                                loops: loop.config.loops, headOnly: headOnly)
                respondAndClose(bytes, refusedHandshake: false)
            }
        case .attachment(let route):
            loop.counters.httpRequests += 1
            phase = .inert
            setTransport(.http)
            guard route.token != nil else {
                return respondAndClose(AttachmentRoute.notFound(headOnly: route.headOnly), refusedHandshake: false)
            }
            attachmentFetch = AttachmentFetch(route)
            for request in route.requests where !channel.isClosed {
                request.withUnsafeBytes { drive(.request($0)) }
            }
        case .metrics(let headOnly):
            loop.counters.httpRequests += 1
            phase = .inert
            setTransport(.http)
            loop.gatherMetricsText { [self] text in
                respondAndClose(HTTPEndpoint.metrics(text, headOnly: headOnly), refusedHandshake: false)
            }
        }
    }

    /// Writes a complete HTTP response and closes once it is flushed.
    func respondAndClose(_ bytes: [UInt8], refusedHandshake: Bool) {
        if refusedHandshake { loop.counters.handshakesRefused += 1 } else if transport != .http {
            loop.counters.httpRequests += 1
        }
        phase = .inert
        if transport != .http { setTransport(.http) }
        guard !channel.isClosed else { return }
        channel.write(bytes)
        loop.counters.bytesOut += bytes.count
        if closeReason.isEmpty { closeReason = "http response" }
        channel.closeAfterFlush()
    }

    private func feedWebSocket(_ bytes: UnsafeMutableRawBufferPointer) {
        guard case .webSocket(var ws) = phase else { return }
        phase = .busy
        let echo = transport == .echo
        var closeNow = false
        ws.receive(bytes, inflater: loop.compression) { action in
            switch action {
            case .message(let kind, let payload):
                loop.counters.framesIn += 1
                completedInput = true
                if echo {
                    echoMessage(opcode: kind == .text ? .text : .binary, payload: payload)
                } else if pendingClose == nil && closeDeadlineMs == 0 {
                    receiveMessage(kind, payload)
                }
            case .send(let frame):
                writeCounted(frame)
            case .close:
                closeNow = true
            }
        }
        if let close = pendingClose, !closeNow {
            pendingClose = nil
            startClosingHandshake(&ws, code: close.code, reason: close.reason)
        }
        if case .busy = phase { phase = .webSocket(ws) }
        if closeNow {
            if closeReason.isEmpty { closeReason = "websocket close" }
            channel.closeAfterFlush()
        }
    }

    private func startLines(earlier: [UInt8], _ bytes: UnsafeMutableRawBufferPointer) {
        phase = .lines(NDJSONFramer(limits: loop.limits))
        setTransport(.ndjson)
        if !earlier.isEmpty {
            // Copied: the handler may keep parsing after this returns. At most 7 bytes.
            var copy = earlier
            copy.withUnsafeMutableBytes { feedLines($0) }
        }
        feedLines(bytes)
    }

    private func feedLines(_ bytes: UnsafeMutableRawBufferPointer) {
        guard case .lines(var framer) = phase else { return }
        phase = .busy
        var tooLong = false
        do {
            try framer.feed(UnsafeRawBufferPointer(bytes)) { line in
                loop.counters.framesIn += 1
                completedInput = true
                if !channel.isClosed { drive(.request(line)) }
            }
        } catch {
            tooLong = true
        }
        if case .busy = phase { phase = .lines(framer) }
        if tooLong {
            // PROTOCOL.md 2.5: a raw TCP line over the limit gets `too_large`, then the close.
            send(Responses.error(type: "error", requestID: nil, code: .tooLarge,
                                 message: "line longer than \(loop.limits.ndjsonLineBytesMax) bytes"))
            phase = .inert
            closeReason = "line too long"
            channel.closeAfterFlush()
        }
    }

    // MARK: - Output

    /// The echo route's answer: the same message, compressed as the gateway's own would be.
    private func echoMessage(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) {
        if let frame = compressedFrame(opcode: opcode, payload: payload) {
            loop.counters.bytesOut += frame.count
            channel.write(frame)
        } else {
            writeCounted(WebSocketFrameEncoder.encode(opcode: opcode, payload: payload))
        }
    }

    /// `payload` as one compressed frame when this connection negotiated permessage-deflate and
    /// the loop's threshold and zlib say it is worth it; nil to send it plain. Counted.
    private func compressedFrame(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) -> OutboundBytes? {
        guard deflateWindowBits != 0, let compression = loop.compression,
              let frame = compression.compressedFrame(opcode: opcode, payload: payload, windowBits: deflateWindowBits)
        else { return nil }
        compression.countOut(uncompressed: payload.count, frame: frame)
        return frame
    }

    func writeCounted(_ bytes: [UInt8]) {
        loop.counters.bytesOut += bytes.count
        channel.write(bytes)
    }

    /// Sends one response or gateway-made message: a text frame on WebSocket (a binary CBOR
    /// frame with `tagarela.cbor`), a line on NDJSON.
    /// Nothing goes after a close frame (RFC 6455 section 5.5.1).
    func send(_ json: [UInt8]) {
        guard !channel.isClosed, closeDeadlineMs == 0 else { return }
        let out: OutboundBytes
        switch transport {
        case .webSocket where speaksCBOR:
            guard let frame = cborFrame(json) else { return }
            out = frame
        case .webSocket:
            out = json.withUnsafeBytes { compressedFrame(opcode: .text, payload: $0) } ?? FanOut.textFrame(json)
        case .ndjson: out = FanOut.line(json)
        case .http:
            // The answers of an attachment request's auth and get_attachment (AttachmentRoute).
            if let fetch = attachmentFetch, let response = fetch.route.answer(forReply: json) {
                attachmentFetch = nil
                respondAndClose(response, refusedHandshake: false)
            }
            return
        default: return
        }
        loop.counters.framesOut += 1
        loop.counters.bytesOut += out.count
        channel.write(out)
        if loop.flushRepliesPromptly { channel.flushPromptly() }
    }

    /// The periodic check: handshake deadline, idle ping, pong and close deadlines, and the
    /// deadlines of unfinished input and of a close for abuse.
    func sweep(nowMs: Int64) {
        let limits = loop.limits
        if sweepBounds(nowMs: nowMs) { return }
        switch transport {
        case .pending, .http:
            if nowMs - stampMs >= limits.handshakeTimeoutMs {
                loop.counters.handshakeTimeouts += 1
                closeReason = "handshake timeout"
                channel.close()
            }
        case .webSocket, .echo:
            if closeDeadlineMs != 0 {
                if nowMs >= closeDeadlineMs { channel.close() }
            } else if pingSentMs != 0 {
                if nowMs - pingSentMs >= limits.pongTimeoutMs {
                    closeReason = "no pong"
                    channel.close()
                }
            } else if nowMs - stampMs >= limits.idlePingIntervalMs, case .webSocket(var ws) = phase {
                phase = .busy
                writeCounted(ws.pingFrame())
                phase = .webSocket(ws)
                pingSentMs = nowMs
            }
        case .ndjson:
            break
        }
    }

    func channelClosed(_ channel: Channel) {
        phase = .inert
        logClosed()
        drive(.ending)
        loop.connectionClosed(self)
        loop.counters.adjustTransport(transport, by: -1)
    }

    func channelWritable(_ channel: Channel) {}
}
