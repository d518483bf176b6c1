// ClientConnection+Bounds: the closes a connection earns by breaking a bound: unfinished input held too long or too much, and the close its session asks for.
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
    // MARK: - Closing

    /// Closes for the session (`SessionAction.close`: rate-limit abuse, once the answers it was
    /// owed are out): WebSocket `code` with the closing handshake, NDJSON once the output is
    /// flushed. The session has left its user's fan-out already.
    func closeForSession(code: CloseCode, reason: String) {
        // Already closed another way meanwhile (a bound on unfinished input, the peer).
        guard closeDeadlineMs == 0, !channel.isClosed else { return }
        closeReason = reason
        switch phase {
        case .busy:
            // Inside this connection's own read: the WebSocket machine is running.
            if transport == .webSocket {
                pendingClose = (code, reason)
            } else {
                channel.closeAfterFlush()
            }
        case .webSocket(var ws):
            phase = .busy
            startClosingHandshake(&ws, code: code, reason: reason)
            phase = .webSocket(ws)
        default:
            channel.closeAfterFlush()
        }
    }

    /// Sends our close frame (RFC 6455 section 7.1.2) and waits up to the close-handshake
    /// timeout for the peer's. The caller has made the connection leave its user's fan-out
    /// (nothing may follow a close frame). Reading resumes, since the peer's close must be read.
    func startClosingHandshake(_ ws: inout WebSocketConnection, code: CloseCode, reason: String) {
        writeCounted(ws.closeFrame(code: code, reason: reason))
        closeDeadlineMs = loop.nowMs + loop.limits.closeHandshakeTimeoutMs
        partialSinceMs = 0
        channel.resumeReading()
    }

    /// Resumes reading after the session held this connection (an identity change, a busy
    /// worker link). An unfinished line or message gets a fresh deadline: the time the gateway
    /// was not reading is not the peer's fault.
    func resumeReadingAfterHold() {
        guard channel.isReadingPaused else { return }
        if partialSinceMs != 0 { partialSinceMs = loop.nowMs }
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
            partialSinceMs = loop.nowMs
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
        closeReason = "unfinished input (\(why))"
        partialSinceMs = 0
        partialBytes = 0
        if closeDeadlineMs != 0 {
            // Our close frame is out already: stop waiting for the peer's.
            channel.close()
            return
        }
        let timeoutMs = loop.limits.partialInputTimeoutMs
        // Nothing may follow our error line or close frame: the connection leaves its user's fan-out.
        drive(.ending)
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
        if session.closingForAbuse {
            // Waiting for the answers it is owed (no pings meanwhile); after that the close
            // handshake's own deadline applies.
            guard session.isWaitingToClose else { return false }
            drive(.tick)
            return true
        }
        // Time the gateway is not reading does not count (see `resumeReadingAfterHold`).
        if partialSinceMs != 0 && !channel.isReadingPaused
            && nowMs - partialSinceMs >= loop.limits.partialInputTimeoutMs {
            closeForUnfinishedInput(.timeout)
            return true
        }
        return false
    }
}
