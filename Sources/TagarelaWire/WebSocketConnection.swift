// WebSocketConnection: the RFC 6455 server-side state machine, turning received bytes into actions.

/// The kind of a data message.
public enum WebSocketMessageKind: Sendable {
    case text
    case binary
}

/// What the owner of a connection must do, in the order given.
public enum WebSocketAction {
    /// A complete message. `payload` points into the read buffer or the connection's reassembly
    /// buffer and is valid only during the `emit` call: copy what must outlive it.
    /// Text payloads have been checked to be valid UTF-8.
    case message(opcode: WebSocketMessageKind, payload: UnsafeRawBufferPointer)
    /// Write these already-encoded frame bytes (a pong, a close).
    case send([UInt8])
    /// Close the TCP connection once what was sent before is flushed; nothing more will follow.
    case close
}

/// One WebSocket connection's protocol state (RFC 6455 sections 5-7), with no socket.
///
/// The owner feeds it every byte read after the handshake and carries out the actions it
/// emits; it also asks it for the frames it sends on its own (`pingFrame`, `closeFrame`).
/// Data frames are not built here: encode them once with `WebSocketFrameEncoder`.
///
/// Small by design (about 100 bytes inline): nothing is allocated while frames arrive whole in
/// one read, which is the common case, and a message is handed out as a slice of the read
/// buffer. Only a message split across reads or fragments is copied into a reassembly buffer,
/// and only a control frame split across reads into a second one; both are freed as soon as
/// their frame or message is complete, so an idle connection holds no heap memory.
public struct WebSocketConnection {
    /// Where the closing handshake stands (RFC 6455 section 7).
    public enum State: UInt8, Sendable {
        /// Messages flow both ways.
        case open
        /// The server sent a close and waits for the peer's; incoming data is dropped.
        case closeSent
        /// Both closes were exchanged or the connection failed; all input is ignored.
        case closed
    }

    /// The current state.
    public private(set) var state: State = .open
    /// True after `pingFrame()` until any pong arrives; the idle timer closes the connection
    /// when it is still true at the pong deadline.
    public private(set) var awaitingPong = false
    /// The violation that failed the connection, if one did (for logs and metrics).
    public private(set) var failure: WebSocketError?
    /// The status code of the peer's close frame, if it sent one with a code.
    public private(set) var peerCloseCode: UInt16?

    private let messageBytesMax: Int
    /// permessage-deflate was negotiated (RFC 7692): RSV1 marks a compressed message.
    public let deflateNegotiated: Bool
    /// The message in progress is compressed: its bytes are gathered whole and inflated at the
    /// end (no zlib state is kept between its frames, PROTOCOL.md 3.x).
    private var messageCompressed = false
    private var decoder = WebSocketFrameDecoder()
    /// The frame being read: its opcode and FIN bit.
    private var frameOpcode: WebSocketOpcode = .continuation
    private var frameFin = false
    /// The data message in progress (from its first frame to the end of its final one).
    private var messageKind: WebSocketMessageKind?
    /// Bytes of the message in progress counted from frame headers, for the size limit.
    private var messageBytes = 0
    private var utf8 = UTF8Validator()
    private var messageBuffer: [UInt8] = []
    private var controlBuffer: [UInt8] = []

    /// A connection right after a successful handshake; messages past
    /// `limits.webSocketMessageBytesMax` close it with 1009.
    /// With `deflate`, RSV1 on a message's first frame means it is compressed (RFC 7692
    /// section 6); its inflated size is held to the same limit.
    public init(limits: Limits = .default, deflate: Bool = false) {
        messageBytesMax = limits.webSocketMessageBytesMax
        deflateNegotiated = deflate
    }

    /// Heap bytes currently held for partial frames and messages (0 on an idle connection).
    public var bufferedBytes: Int { messageBuffer.capacity + controlBuffer.capacity }

    /// True when no frame or fragmented message is partly received.
    public var isBetweenMessages: Bool { decoder.isAtFrameBoundary && messageKind == nil }

    /// Processes received bytes, unmasking them in place, and emits the resulting actions.
    ///
    /// `emit` must not touch this connection (it is being mutated); to close from inside it,
    /// note the decision and call `closeFrame` once `receive` returns. After `.close` no further
    /// action is emitted and later input is ignored.
    /// `inflater` reads compressed messages; it must be given when `deflateNegotiated`.
    public mutating func receive(_ bytes: UnsafeMutableRawBufferPointer, inflater: (any WebSocketMessageInflater)? = nil,
                                 _ emit: (WebSocketAction) -> Void) {
        var index = 0
        do throws(WebSocketError) {
            while state != .closed, let event = try decoder.next(bytes, at: &index) {
                switch event {
                case .header(let header):
                    try begin(header)
                case .payload(let chunk, let frameEnd):
                    if frameOpcode.isControl {
                        try controlPayload(UnsafeRawBufferPointer(chunk), frameEnd: frameEnd, emit)
                    } else {
                        try dataPayload(UnsafeRawBufferPointer(chunk), frameEnd: frameEnd, inflater, emit)
                    }
                }
            }
        } catch {
            fail(error, emit)
        }
    }

    /// A close frame to start the closing handshake from the server side (going away, policy
    /// violation, ...). Moves to `.closeSent`: no data message is emitted after it, and the
    /// peer's close answer yields `.close`. `reason` is at most 123 UTF-8 bytes.
    public mutating func closeFrame(code: CloseCode, reason: String = "") -> [UInt8] {
        if state == .open { state = .closeSent }
        dropMessage()
        return WebSocketFrameEncoder.encodeClose(code: code.rawValue, reason: reason)
    }

    /// A ping frame for the idle check (RFC 6455 section 5.5.2); sets `awaitingPong`.
    public mutating func pingFrame(payload: [UInt8] = []) -> [UInt8] {
        precondition(payload.count <= Limits.controlFramePayloadBytesMax, "ping payload over 125 bytes")
        awaitingPong = true
        return WebSocketFrameEncoder.encode(opcode: .ping, payload: payload)
    }

    /// Checks a frame header against the connection's rules before any payload is read.
    private mutating func begin(_ header: WebSocketFrameHeader) throws(WebSocketError) {
        // Section 5.2: RSV2 and RSV3 belong to no extension we speak; RSV1 only to
        // permessage-deflate, when negotiated (RFC 7692 section 6).
        let rsv1 = header.rsv & 0x4 != 0
        guard header.rsv & 0x3 == 0, !rsv1 || deflateNegotiated else { throw .reservedBitsSet }
        guard let opcode = header.opcode else { throw .unknownOpcode }
        // RFC 7692 section 6: RSV1 is set on a compressed message's first frame only, never on
        // a continuation or a control frame (those are never compressed).
        if rsv1 && (opcode.isControl || opcode == .continuation) { throw .compressedBitMisplaced }
        // Section 5.1: the server MUST close on an unmasked client frame.
        guard header.maskKey != nil else { throw .unmaskedFrame }
        frameOpcode = opcode
        frameFin = header.fin
        if opcode.isControl {
            // Section 5.5: control frames are never fragmented and carry at most 125 bytes.
            guard header.fin else { throw .fragmentedControlFrame }
            guard header.payloadLength <= UInt64(Limits.controlFramePayloadBytesMax) else { throw .controlFrameTooLong }
            return
        }
        // Section 5.4: a continuation only inside a fragmented message, and a new message
        // only outside one.
        if opcode == .continuation {
            guard messageKind != nil else { throw .unexpectedContinuation }
        } else {
            guard messageKind == nil else { throw .expectedContinuation }
            messageKind = opcode == .text ? .text : .binary
            messageCompressed = rsv1
            messageBytes = 0
            utf8.reset()
        }
        // Refuse the length now, before any of the body is buffered.
        guard header.payloadLength <= UInt64(messageBytesMax - messageBytes) else { throw .messageTooBig }
        messageBytes += Int(header.payloadLength)
    }

    /// Payload of a text, binary or continuation frame.
    private mutating func dataPayload(_ chunk: UnsafeRawBufferPointer, frameEnd: Bool,
                                      _ inflater: (any WebSocketMessageInflater)?,
                                      _ emit: (WebSocketAction) -> Void) throws(WebSocketError) {
        let messageEnd = frameEnd && frameFin
        guard state == .open, let kind = messageKind else {
            // Section 7.1.4 onwards: after our close, data is read and dropped.
            if messageEnd { messageKind = nil }
            return
        }
        if messageCompressed {
            try compressedPayload(chunk, messageEnd: messageEnd, kind: kind, inflater, emit)
            return
        }
        // Section 8.1: fail fast, at the first chunk that cannot be valid UTF-8.
        if kind == .text {
            guard utf8.feed(chunk) else { throw .invalidUTF8 }
            if messageEnd && !utf8.isComplete { throw .invalidUTF8 }
        }
        if messageEnd && messageBuffer.isEmpty && chunk.count == messageBytes {
            // The whole message is in this read: hand out the read buffer itself.
            finishMessage()
            emit(.message(opcode: kind, payload: chunk))
            return
        }
        if messageBuffer.capacity == 0 { messageBuffer.reserveCapacity(messageBytes) }
        messageBuffer.append(contentsOf: chunk)
        guard messageEnd else { return }
        let message = messageBuffer
        messageBuffer = []
        finishMessage()
        message.withUnsafeBytes { emit(.message(opcode: kind, payload: $0)) }
    }

    /// Payload of a compressed message: gathered until its last frame (unless it came whole in
    /// this read), then inflated in one call, bounded by the message limit, and checked.
    private mutating func compressedPayload(_ chunk: UnsafeRawBufferPointer, messageEnd: Bool, kind: WebSocketMessageKind,
                                            _ inflater: (any WebSocketMessageInflater)?,
                                            _ emit: (WebSocketAction) -> Void) throws(WebSocketError) {
        guard let inflater = inflater else { preconditionFailure("deflate negotiated but no inflater given") }
        let whole = messageEnd && messageBuffer.isEmpty && chunk.count == messageBytes
        if !whole {
            if messageBuffer.capacity == 0 { messageBuffer.reserveCapacity(messageBytes) }
            messageBuffer.append(contentsOf: chunk)
            guard messageEnd else { return }
        }
        let compressed = whole ? [] : messageBuffer
        messageBuffer = []
        finishMessage()
        var invalidText = false
        let result = compressed.withUnsafeBytes { gathered in
            inflater.inflateWebSocketMessage(whole ? chunk : gathered, bytesMax: messageBytesMax) { message in
                // Section 8.1 applies to the inflated text (RFC 7692 section 6.2).
                if kind == .text && !UTF8Validator.isValid(message) {
                    invalidText = true
                    return
                }
                emit(.message(opcode: kind, payload: message))
            }
        }
        switch result {
        case .inflated: if invalidText { throw .invalidUTF8 }
        case .tooBig: throw .messageTooBig
        case .corrupt: throw .invalidCompressedData
        }
    }

    /// Payload of a ping, pong or close frame; gathered when it spans reads (at most 125 bytes).
    private mutating func controlPayload(_ chunk: UnsafeRawBufferPointer, frameEnd: Bool,
                                         _ emit: (WebSocketAction) -> Void) throws(WebSocketError) {
        if frameEnd && controlBuffer.isEmpty {
            try control(chunk, emit)
            return
        }
        if controlBuffer.capacity == 0 { controlBuffer.reserveCapacity(Limits.controlFramePayloadBytesMax) }
        controlBuffer.append(contentsOf: chunk)
        guard frameEnd else { return }
        let payload = controlBuffer
        controlBuffer = []
        let outcome: Result<Void, WebSocketError> = payload.withUnsafeBytes { bytes in
            do throws(WebSocketError) {
                try control(bytes, emit)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }

    /// Acts on a complete control frame.
    private mutating func control(_ payload: UnsafeRawBufferPointer, _ emit: (WebSocketAction) -> Void) throws(WebSocketError) {
        switch frameOpcode {
        case .ping:
            // Section 5.5.2: answer with a pong carrying the same payload, unless closing.
            if state == .open { emit(.send(WebSocketFrameEncoder.encode(opcode: .pong, payload: payload))) }
        case .pong:
            awaitingPong = false
        case .close:
            try closeReceived(payload, emit)
        default:
            preconditionFailure("not a control opcode")
        }
    }

    /// Section 5.5.1 and 7.4: validate the peer's close, echo its code, then close the TCP connection.
    private mutating func closeReceived(_ payload: UnsafeRawBufferPointer, _ emit: (WebSocketAction) -> Void) throws(WebSocketError) {
        if state == .closeSent {
            // Our close was answered: the handshake is complete.
            finishClosed()
            emit(.close)
            return
        }
        guard payload.count != 1 else { throw .closePayloadTooShort }
        var echo: UInt16?
        if payload.count >= 2 {
            let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
            guard CloseCode.isValidOnWire(code) else { throw .invalidCloseCode }
            guard UTF8Validator.isValid(UnsafeRawBufferPointer(rebasing: payload[2...])) else { throw .invalidCloseReason }
            peerCloseCode = code
            echo = code
        }
        finishClosed()
        // An empty close is answered with an empty close: there is no code to echo.
        emit(.send(WebSocketFrameEncoder.encodeClose(code: echo)))
        emit(.close)
    }

    /// Fails the connection (section 7.1.7): a close frame with the violation's code when we
    /// have not sent one yet, then close the TCP connection.
    private mutating func fail(_ error: WebSocketError, _ emit: (WebSocketAction) -> Void) {
        let wasOpen = state == .open
        failure = error
        finishClosed()
        if wasOpen {
            emit(.send(WebSocketFrameEncoder.encodeClose(code: error.closeCode.rawValue, reason: error.reason)))
        }
        emit(.close)
    }

    private mutating func finishMessage() {
        messageKind = nil
        messageCompressed = false
        messageBytes = 0
        utf8.reset()
    }

    private mutating func dropMessage() {
        messageBuffer = []
    }

    private mutating func finishClosed() {
        state = .closed
        messageBuffer = []
        controlBuffer = []
        messageKind = nil
        messageCompressed = false
    }
}
