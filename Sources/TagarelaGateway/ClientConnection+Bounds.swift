// ClientConnection+Bounds: the closes a connection earns by breaking a bound: unfinished input held too long or too much, and rate-limit abuse.
import TagarelaEventLoop
import enum TagarelaModel.Responses
import TagarelaWire

/// Why a connection's unfinished input ends it (PROTOCOL.md 3.5).
enum UnfinishedInputClose {
    /// A line or message not completed within `Limits.partialInputTimeoutMs` of its first byte.
    case timeout
    /// The loop held more than its share of `Limits.partialInputBytesMax`, and this connection
    /// was among the biggest holders.
    case total
}

extension ClientConnection {
    // MARK: - Answers

    /// Sends the one answer of a request that passed the rate limiter. A connection closing
    /// for abuse closes once the last answer it is owed has gone out.
    func answer(_ json: [UInt8]) {
        send(json)
        unanswered -= 1
        if closingForAbuse && answersDeadlineMs != 0 && unanswered <= 0 { finishClosingForAbuse() }
    }

    // MARK: - Rate-limit abuse

    /// Ends the connection for ignoring `rate_limited` (PROTOCOL.md 2.5). Nothing more is read or
    /// handled, but the requests it was already let through may have been stored and delivered
    /// to others, so their answers go out first (bounded by `Limits.closingAnswersWaitMs`);
    /// then WebSocket 1008 with the closing handshake, or for NDJSON the close after the flush.
    func closeForAbuse() {
        guard !closingForAbuse else { return }
        closingForAbuse = true
        channel.pauseReading()
        answersDeadlineMs = loop.eventLoop.nowMs + loop.config.limits.closingAnswersWaitMs
        if unanswered <= 0 { finishClosingForAbuse() }
    }

    static let abuseReason = "rate limit exceeded"

    /// The answers are out, or the wait for them is over: the close itself.
    func finishClosingForAbuse() {
        answersDeadlineMs = 0
        // Already closed another way meanwhile (a bound on unfinished input, the peer).
        guard closeDeadlineMs == 0, !channel.isClosed else { return }
        switch phase {
        case .busy:
            // Inside this connection's own read: the WebSocket machine is running.
            if transport == .webSocket {
                pendingClose = (.policyViolation, ClientConnection.abuseReason)
            } else {
                loop.unbind(self)
                channel.closeAfterFlush()
            }
        case .webSocket(var ws):
            phase = .busy
            startClosingHandshake(&ws, code: .policyViolation, reason: ClientConnection.abuseReason)
            phase = .webSocket(ws)
        default:
            loop.unbind(self)
            channel.closeAfterFlush()
        }
    }

    /// Sends our close frame (RFC 6455 section 7.1.2) and waits up to the close-handshake
    /// timeout for the peer's. The connection leaves its user's fan-out at once (nothing may
    /// follow a close frame), and reading resumes, since the peer's close must be read.
    func startClosingHandshake(_ ws: inout WebSocketConnection, code: CloseCode, reason: String) {
        writeCounted(ws.closeFrame(code: code, reason: reason))
        closeDeadlineMs = loop.eventLoop.nowMs + loop.config.limits.closeHandshakeTimeoutMs
        loop.unbind(self)
        partialSinceMs = 0
        channel.resumeReading()
    }

    /// Resumes reading after the gateway held this connection (an identity change, a busy worker
    /// link). An unfinished line or message gets a fresh deadline: the time the gateway was not
    /// reading is not the peer's fault. Reading stays off while closing for abuse.
    func resumeReadingAfterHold() {
        guard channel.isReadingPaused, !closingForAbuse else { return }
        if partialSinceMs != 0 { partialSinceMs = loop.eventLoop.nowMs }
        channel.resumeReading()
    }

    // MARK: - Unfinished input

    /// Heap bytes held for an unfinished line, message or HTTP head, and whether a line or
    /// message has started and not finished (its deadline runs; the handshake timeout covers a head).
    var unfinishedInput: (bytes: Int, started: Bool) {
        switch phase {
        case .head(let parser): return (parser.bufferedCount, false)
        case .lines(let framer): return (framer.bufferedBytes, framer.bufferedCount > 0)
        case .webSocket(let ws): return (ws.bufferedBytes, closeDeadlineMs == 0 && !ws.isBetweenMessages)
        case .sniffing, .inert, .busy: return (0, false)
        }
    }

    /// After each read: starts, restarts or clears the deadline of the unfinished line or
    /// message, and reports the bytes held to the loop's budget (which may close the biggest
    /// holders, this connection included).
    func noteUnfinishedInput() {
        let (bytes, started) = unfinishedInput
        if !started {
            partialSinceMs = 0
        } else if partialSinceMs == 0 || completedInput {
            // The deadline runs from the first byte of the line or message still unfinished: a
            // new one began in this read if an earlier one was completed in it.
            partialSinceMs = loop.eventLoop.nowMs
        }
        if bytes != partialBytes {
            partialBytes = bytes
            loop.partialInputChanged(self)
        }
    }

    /// Ends the connection for its unfinished input: NDJSON gets an error line (`timeout` or
    /// `too_large`), then the close; WebSocket gets close 1008 (too slow) or 1009 (too much); a
    /// connection still in its HTTP head gets 503. Its buffers are freed at once.
    func closeForUnfinishedInput(_ why: UnfinishedInputClose) {
        partialSinceMs = 0
        partialBytes = 0
        if closeDeadlineMs != 0 {
            // Our close frame is out already: stop waiting for the peer's.
            channel.close()
            return
        }
        let timeoutMs = loop.config.limits.partialInputTimeoutMs
        switch why {
        case .timeout: loop.counters.partialInputTimeouts += 1
        case .total: loop.counters.partialInputEvictions += 1
        }
        switch phase {
        case .lines:
            let error = why == .timeout
                ? Responses.error(type: "error", requestID: nil, code: .timeout,
                                  message: "line not finished within \(timeoutMs) ms of its first byte")
                : Responses.error(type: "error", requestID: nil, code: .tooLarge,
                                  message: "the server holds too much unfinished input; this connection held the most")
            send(error)
            phase = .inert
            loop.unbind(self)
            channel.closeAfterFlush()
        case .webSocket(var ws):
            phase = .busy
            if why == .timeout {
                startClosingHandshake(&ws, code: .policyViolation, reason: "message not finished in time")
            } else {
                startClosingHandshake(&ws, code: .messageTooBig, reason: "too much unfinished input")
            }
            phase = .webSocket(ws)
        case .head:
            respondAndClose(HTTPResponse.error(status: 503, message: "the server holds too much unfinished input",
                                               headers: [("Retry-After", "1")]), refusedHandshake: true)
        case .sniffing, .inert, .busy:
            channel.close()
        }
    }

    /// The sweep's part for these bounds; true when the connection is closing because of them.
    func sweepBounds(nowMs: Int64) -> Bool {
        if closingForAbuse {
            // Waiting for the answers it is owed (no pings meanwhile); after that the close
            // handshake's own deadline applies.
            guard answersDeadlineMs != 0 else { return false }
            if nowMs >= answersDeadlineMs { finishClosingForAbuse() }
            return true
        }
        // Time the gateway is not reading does not count (see `resumeReadingAfterHold`).
        if partialSinceMs != 0 && !channel.isReadingPaused
            && nowMs - partialSinceMs >= loop.config.limits.partialInputTimeoutMs {
            closeForUnfinishedInput(.timeout)
            return true
        }
        return false
    }
}

extension GatewayLoop {
    /// `conn` now holds `conn.partialBytes` of unfinished input: past this loop's share of the
    /// bound, the biggest holders are closed until the rest fits.
    func partialInputChanged(_ conn: ClientConnection) {
        for id in partialInput.update(conn.id, bytes: conn.partialBytes) {
            connections[id]?.closeForUnfinishedInput(.total)
        }
    }
}
