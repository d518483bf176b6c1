// GatewayLoop+FanOut: the loop's index of authenticated connections by user: binding, session ends across loops, and event fan-out.
import TagarelaEventLoop
import TagarelaLink
import TagarelaModel
import TagarelaSystem
import TagarelaWire

extension GatewayLoop {
    // MARK: - The user index

    /// Adds `conn` to `userID`'s connections after a successful login/register/auth, leaving
    /// `previous`'s ("" when it was not bound).
    func bind(_ conn: ClientConnection, userID: String, replacing previous: String) {
        if !previous.isEmpty { unbind(conn, userID: previous) }
        if byUser[userID] == nil {
            // This loop's first connection of the user: every worker must now send its events
            // here. The subscribe goes on each link before any later request of this connection.
            byUser[userID] = [conn]
            for link in links { link.sendSubscriptions([userID], subscribe: true) }
        } else {
            byUser[userID]!.append(conn)
        }
        gateway.presence.connect(userID)
    }

    /// Removes `conn` from `userID`'s connections (logout, session ended, close).
    func unbind(_ conn: ClientConnection, userID: String) {
        if var list = byUser[userID] {
            list.removeAll { $0 === conn }
            if list.isEmpty {
                byUser[userID] = nil
                // The last one: the workers stop sending this user's events to this loop.
                for link in links { link.sendSubscriptions([userID], subscribe: false) }
            } else {
                byUser[userID] = list
            }
        }
        gateway.presence.disconnect(userID)
    }

    /// A logout ended `sessionID` of `userID` (`SessionScope.everySession`: all of them, after
    /// logout_all or change_password): every other connection of it, on every loop, gets
    /// `session:ended` with `reason` and becomes unauthenticated (PROTOCOL.md 2.1).
    func endSessions(userID: String, sessionID: String, except connectionID: UInt64, reason: String) {
        for loop in gateway.loops {
            if loop === self {
                endSession(userID: userID, sessionID: sessionID, except: connectionID, reason: reason)
            } else {
                loop.eventLoop.execute {
                    loop.endSession(userID: userID, sessionID: sessionID, except: connectionID, reason: reason)
                }
            }
        }
    }

    /// This loop's part of `endSessions`: each session decides whether the ended one is its own.
    func endSession(userID: String, sessionID: String, except connectionID: UInt64, reason: String) {
        guard let list = byUser[userID] else { return }
        for conn in list where conn.id != connectionID {
            conn.drive(.sessionEnded(sessionID: sessionID, reason: reason))
        }
    }

    // MARK: - Fan-out

    /// Writes each event to every local connection of its users but the excluded one. The JSON
    /// is framed once per encoding in use (JSON text frame, NDJSON line, CBOR binary frame),
    /// lazily, and the same bytes are queued on every receiver; WebSocket JSON receivers that
    /// negotiated permessage-deflate share a compressed variant, made once per window size
    /// (`DeflatedFrameCache`). CBOR frames go uncompressed (RFC 7692 section 6 lets each message
    /// choose): CBOR is already compact, and a second per-window cache was not worth it yet.
    func deliver(_ events: [LinkEvent]) {
        let stampNs = Clock.monotonicNs()
        for event in events {
            counters.eventsReceived += 1
            var frame: OutboundBytes? = nil
            var line: OutboundBytes? = nil
            var cbor: OutboundBytes? = nil
            // An event that does not transcode is tried (and logged) once, not once per receiver.
            var cborTried = false
            var deflated = DeflatedFrameCache()
            for user in event.userIDs {
                guard let list = byUser[user] else { continue }
                for conn in list where conn.id != event.excludeConnectionID && !conn.isClosed {
                    let bytes: OutboundBytes
                    if conn.speaksCBOR {
                        if !cborTried {
                            cborTried = true
                            cbor = conn.cborFrame(event.json)
                        }
                        guard let encoded = cbor else { continue }
                        bytes = encoded
                    } else if conn.isWebSocketTransport {
                        if conn.deflateWindowBits != 0, let compression = compression,
                           let compressed = deflated.frame(event.json, windowBits: conn.deflateWindowBits,
                                                           compression: compression) {
                            compression.countOut(uncompressed: event.json.count, frame: compressed)
                            bytes = compressed
                        } else {
                            if frame == nil { frame = FanOut.textFrame(event.json) }
                            bytes = frame!
                        }
                    } else {
                        if line == nil { line = FanOut.line(event.json) }
                        bytes = line!
                    }
                    conn.channel.write(bytes)
                    deliveryClock.queued(conn, stampNs: stampNs)
                    counters.deliveries += 1
                    counters.framesOut += 1
                    counters.bytesOut += bytes.count
                }
            }
        }
    }
}

/// The two encodings of a fan-out message or a reply, each built straight into the buffer the
/// output queues share (one allocation, one copy of the JSON).
enum FanOut {
    /// An unmasked, unfragmented text frame (RFC 6455 section 5.6) around `json`.
    static func textFrame(_ json: [UInt8]) -> OutboundBytes {
        let headerCount = WebSocketFrameEncoder.headerCount(payloadCount: json.count, masked: false)
        return OutboundBytes(count: headerCount + json.count) { out in
            WebSocketFrameEncoder.writeHeader(opcode: .text, payloadCount: json.count, to: out)
            json.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: out[headerCount...]).copyMemory(from: source)
            }
        }
    }

    /// `json` and a newline (an NDJSON line).
    static func line(_ json: [UInt8]) -> OutboundBytes {
        OutboundBytes(count: json.count + 1) { out in
            json.withUnsafeBytes { source in out.copyMemory(from: source) }
            out[json.count] = 0x0A
        }
    }
}
