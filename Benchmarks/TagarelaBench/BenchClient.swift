// BenchClient: one simulated client connection: WebSocket (JSON or CBOR) or raw NDJSON transport over the event loop.
import TagarelaCBOR
import TagarelaCrypto
import TagarelaEventLoop
import TagarelaJSON
import TagarelaSystem
import TagarelaWire

/// What a `BenchClient` reports to its owner, on the loop thread.
protocol BenchClientOwner: AnyObject {
    /// The transport is ready: the `101` arrived (WebSocket) or the TCP connect went through (raw).
    func clientReady(_ client: BenchClient, nowUs: Int64)
    /// `count` bytes were read from the socket (the wire figure, before any inflation).
    func clientRead(_ client: BenchClient, wireBytes count: Int)
    /// One complete JSON text from the server, valid only during the call. `nowUs` is the arrival time.
    func clientReceived(_ client: BenchClient, _ text: UnsafeRawBufferPointer, nowUs: Int64)
    /// The connection ended (`wasReady` tells whether it had got past the handshake).
    func clientClosed(_ client: BenchClient, wasReady: Bool, reason: String)
}

/// One connection of the load generator, owned by one event loop.
///
/// The transport work is all here: the client opening handshake (RFC 6455 section 4.1) with
/// the `Sec-WebSocket-Accept` check, masked client frames (section 5.3) built straight into one
/// reusable scratch buffer and copied once into the outbound chunk, server frames decoded with
/// `WebSocketFrameDecoder` in place (only a message split across reads is copied), pings
/// answered, and the close handshake; or NDJSON lines for raw TCP. Scenario logic lives in the owner.
final class BenchClient: ChannelHandler {
    /// Where the connection is.
    enum State: Equatable { case idle, connecting, upgrading, ready, closed }

    /// Index of the user this connection plays (0-based, global to the run).
    let index: Int
    /// Its username.
    let username: String
    unowned let owner: BenchClientOwner
    private let transport: BenchTransport
    private let port: Int
    /// Loopback source address (host order), or 0 to let the kernel choose (127.0.0.1).
    let sourceAddress: UInt32

    private(set) var state: State = .idle
    private(set) var channel: Channel?
    /// Monotonic µs when the current connect started.
    private(set) var connectStartUs: Int64 = 0

    // Scenario state kept by the owner on the client (one allocation per user instead of side tables).
    /// Session token from `login`.
    var token: String = ""
    /// The group chat this user belongs to (empty before `create_group`).
    var chatID: String = ""
    /// Bytes of `{"type":"message","chat_id":"<id>","request_id":"` prebuilt once per chat.
    var messageHead: [UInt8] = []
    /// Delivered / own / caught-up sequence numbers of the user's chat.
    var seqs = SeqTracker()
    /// `message` requests in flight (closed loop window).
    var outstanding = 0
    /// Messages this user has sent (feeds `request_id`).
    var sentCount = 0
    /// What the owner is waiting for from this client (setup and catch-up steps).
    var step: Int = 0
    /// Index of the user's group in its shard's `groups`, or -1.
    var groupSlot = -1
    /// The owner wants this connection closed (no "closed unexpectedly" count).
    var closeExpected = false

    // Transport state.
    private var handshakeHead: [UInt8] = []
    private var expectedAccept: [UInt8] = []
    private var decoder = WebSocketFrameDecoder()
    private var frameOpcode: WebSocketOpcode? = nil
    private var frameFin = true
    private var frameLength = 0
    /// Bytes of a message whose frame (or fragments) spans reads; empty otherwise.
    private var partial: [UInt8] = []
    private var messageOpcode: WebSocketOpcode? = nil
    /// Payload of a control frame (at most 125 bytes), kept apart from a fragmented message.
    private var controlPayload: [UInt8] = []
    private var framer = NDJSONFramer(lineBytesMax: 16 * 1024 * 1024)
    /// The thread's deflate state when the run offers compression (`--compression on`).
    private let compression: BenchCompression?
    /// The server accepted permessage-deflate on this connection.
    private var deflateAccepted = false
    /// The message being read has RSV1 set.
    private var messageCompressed = false

    /// Queue bound for the bench's own output: a server that stops reading must not make the
    /// bench buffer without limit; above `sendBacklogBytesMax` sends are skipped (and counted).
    static let maxQueuedBytes = 32 * 1024 * 1024
    /// Output queued to the server above which a send is skipped.
    static let sendBacklogBytesMax = 4 * 1024 * 1024
    /// Largest server message accepted (the server's own limit is 1 MiB; pages of 200 messages stay below).
    static let messageBytesMax = 16 * 1024 * 1024

    init(index: Int, username: String, owner: BenchClientOwner, transport: BenchTransport, port: Int, sourceAddress: UInt32,
         compression: BenchCompression? = nil) {
        self.compression = compression
        self.sourceAddress = sourceAddress
        self.index = index
        self.username = username
        self.owner = owner
        self.transport = transport
        self.port = port
    }

    /// Starts a non-blocking connect to 127.0.0.1 and, for WebSocket, queues the upgrade request
    /// (the loop writes it once the socket turns writable). Throws when the socket cannot be made.
    func connect(on loop: EventLoop, nowUs: Int64, keyRandom: inout FastRandom) throws {
        precondition(state == .idle || state == .closed, "connect on a live client")
        let fd = sourceAddress == 0 ? try Socket.connectTCP(host: "127.0.0.1", port: port)
            : try SourceAddress.connect(from: sourceAddress, port: port)
        try? Socket.setNoDelay(fd)
        resetTransport()
        closeExpected = false
        connectStartUs = nowUs
        let channel = loop.register(fd: fd, handler: self, maxQueuedBytes: BenchClient.maxQueuedBytes)
        self.channel = channel
        switch transport {
        case .ws, .cbor:
            state = .upgrading
            var key = [UInt8](repeating: 0, count: 16)
            keyRandom.fill(&key)
            let keyText = Base64.encode(key)
            expectedAccept = Array(WebSocketHandshake.acceptKey(for: keyText).utf8)
            let offer = transport == .cbor ? "Sec-WebSocket-Protocol: \(WebSocketSubprotocol.cbor)\r\n" : ""
            let request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: \(keyText)\r\n\(offer)Sec-WebSocket-Version: 13\r\n"
                + (compression == nil ? "" : "Sec-WebSocket-Extensions: \(BenchCompression.offer)\r\n") + "\r\n"
            channel.write(Array(request.utf8))
        case .raw:
            // A raw connection is usable as soon as the connect is under way: the first bytes
            // written are queued until the socket is writable.
            state = .connecting
        }
    }

    /// For raw TCP, the owner declares the connection ready right after `connect` (there is no
    /// handshake to wait for); a refused connect then shows up as a close.
    func markRawReady(nowUs: Int64) {
        guard transport == .raw, state == .connecting else { return }
        state = .ready
        owner.clientReady(self, nowUs: nowUs)
    }

    /// Sends one JSON text as a masked text frame or a line. `scratch` is the caller's reusable
    /// buffer; the bytes are copied once into the outbound chunk. Returns the bytes queued.
    @discardableResult
    func send(json: UnsafeRawBufferPointer, scratch: inout [UInt8], maskKey: UInt32) -> Int {
        guard state == .ready, let channel, !channel.isClosed else { return 0 }
        scratch.removeAll(keepingCapacity: true)
        switch transport {
        case .ws:
            let key = WebSocketMaskKey(maskKey)
            let compressed = deflateAccepted ? compression?.compress(json) : nil
            let payloadCount = compressed?.count ?? json.count
            WebSocketFrameEncoder.encodeHeader(opcode: .text, payloadCount: payloadCount, fin: true, maskKey: key,
                                               compressed: compressed != nil, into: &scratch)
            let start = scratch.count
            if let compressed { scratch.append(contentsOf: compressed) } else { scratch.append(contentsOf: json) }
            scratch.withUnsafeMutableBytes { whole in
                _ = key.apply(to: UnsafeMutableRawBufferPointer(rebasing: whole[start...]), offset: 0)
            }
        case .cbor:
            // The scenario writes JSON; the wire carries its CBOR (attachment bytes as a byte string).
            guard let value = try? JSON.parse(json) else { return 0 }
            let cbor = value.encodedCBOR(bytePaths: [["attachment", "data"]])
            let key = WebSocketMaskKey(maskKey)
            WebSocketFrameEncoder.encodeHeader(opcode: .binary, payloadCount: cbor.count, fin: true, maskKey: key, into: &scratch)
            let start = scratch.count
            scratch.append(contentsOf: cbor)
            scratch.withUnsafeMutableBytes { whole in
                _ = key.apply(to: UnsafeMutableRawBufferPointer(rebasing: whole[start...]), offset: 0)
            }
        case .raw:
            scratch.append(contentsOf: json)
            scratch.append(UInt8(ascii: "\n"))
        }
        scratch.withUnsafeBytes { channel.write(OutboundBytes(copying: $0)) }
        return scratch.count
    }

    /// Bytes queued to the server and not yet written.
    var queuedBytes: Int { channel?.queuedBytes ?? 0 }

    /// Closes the connection now, without a close handshake (a storm is meant to be abrupt).
    func abort() {
        closeExpected = true
        channel?.close()
    }

    /// Starts the WebSocket close handshake (section 5.5.1) or, for raw TCP, closes after the flush.
    func closeGracefully(maskKey: UInt32) {
        closeExpected = true
        guard let channel, !channel.isClosed else { return }
        if transport.isWebSocket && state == .ready {
            channel.write(WebSocketFrameEncoder.encodeClose(code: CloseCode.normalClosure.rawValue, maskKey: WebSocketMaskKey(maskKey)))
        }
        channel.closeAfterFlush()
    }

    private func resetTransport() {
        handshakeHead = []
        expectedAccept = []
        decoder = WebSocketFrameDecoder()
        frameOpcode = nil
        frameFin = true
        frameLength = 0
        partial = []
        messageOpcode = nil
        controlPayload = []
        framer = NDJSONFramer(lineBytesMax: BenchClient.messageBytesMax)
        deflateAccepted = false
        messageCompressed = false
    }

    // MARK: - ChannelHandler

    func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
        let nowUs = Clock.monotonicNs() / 1000
        owner.clientRead(self, wireBytes: bytes.count)
        switch state {
        case .upgrading:
            readHandshake(channel, bytes, nowUs: nowUs)
        case .ready:
            if transport.isWebSocket { readFrames(channel, bytes, from: 0, nowUs: nowUs) } else { readLines(channel, bytes, nowUs: nowUs) }
        case .connecting:
            state = .ready
            owner.clientReady(self, nowUs: nowUs)
            readLines(channel, bytes, nowUs: nowUs)
        case .idle, .closed:
            break
        }
    }

    func channelClosed(_ channel: Channel) {
        guard channel === self.channel else { return }
        let wasReady = state == .ready
        state = .closed
        self.channel = nil
        partial = []
        owner.clientClosed(self, wasReady: wasReady, reason: closeReason ?? (wasReady ? "closed by server" : "connect failed"))
        closeReason = nil
    }

    private var closeReason: String? = nil

    private func fail(_ channel: Channel, _ reason: String) {
        if closeReason == nil { closeReason = reason }
        channel.close()
    }

    // MARK: - Handshake (RFC 6455 section 4.1, client side)

    private func readHandshake(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer, nowUs: Int64) {
        let before = handshakeHead.count
        handshakeHead.append(contentsOf: bytes)
        guard let end = BenchClient.headEnd(handshakeHead) else {
            if handshakeHead.count > 16 * 1024 { fail(channel, "handshake response too long") }
            return
        }
        let head = handshakeHead[0..<end]
        guard BenchClient.isSwitchingProtocols(head, expectedAccept: expectedAccept) else {
            let firstLine = head.prefix { $0 != 13 }
            fail(channel, "handshake refused: " + String(decoding: firstLine, as: UTF8.self))
            return
        }
        deflateAccepted = compression != nil && BenchCompression.accepted(head)
        handshakeHead = []
        state = .ready
        owner.clientReady(self, nowUs: nowUs)
        // Frames may follow the head in the same read.
        let consumed = end - before
        if consumed < bytes.count, state == .ready {
            readFrames(channel, bytes, from: consumed, nowUs: nowUs)
        }
    }

    /// Offset just past the `\r\n\r\n` ending an HTTP head, or nil.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 3..<bytes.count where bytes[i] == 10 && bytes[i - 1] == 13 && bytes[i - 2] == 10 && bytes[i - 3] == 13 {
            return i + 1
        }
        return nil
    }

    /// Whether `head` is a `101` whose `Sec-WebSocket-Accept` (header names are case-insensitive,
    /// RFC 7230 section 3.2) equals `expectedAccept`.
    static func isSwitchingProtocols(_ head: ArraySlice<UInt8>, expectedAccept: [UInt8]) -> Bool {
        let lines = head.split(separator: 10).map { $0.last == 13 ? $0.dropLast() : $0 }
        guard let status = lines.first, status.starts(with: Array("HTTP/1.1 101".utf8)) else { return false }
        let name = Array("sec-websocket-accept:".utf8)
        for line in lines.dropFirst() where line.count > name.count {
            let lowered = line.prefix(name.count).map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
            guard lowered == name else { continue }
            let value = line.dropFirst(name.count).drop { $0 == 32 || $0 == 9 }
            return Array(value.reversed().drop { $0 == 32 || $0 == 9 }.reversed()) == expectedAccept
        }
        return false
    }

    // MARK: - Frames (RFC 6455 section 5, server frames are never masked)

    private func readFrames(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer, from start: Int, nowUs: Int64) {
        var index = start
        while state == .ready {
            let event: WebSocketFrameDecoder.Event?
            do {
                event = try decoder.next(bytes, at: &index)
            } catch {
                fail(channel, "bad frame from server: \(error)")
                return
            }
            guard let event else { return }
            switch event {
            case .header(let header):
                guard let opcode = header.opcode, header.maskKey == nil, header.payloadLength <= UInt64(BenchClient.messageBytesMax) else {
                    fail(channel, "unexpected frame header from server")
                    return
                }
                frameOpcode = opcode
                frameFin = header.fin
                frameLength = Int(header.payloadLength)
                // RSV1: a compressed message (RFC 7692 section 6), only where it was accepted.
                guard header.rsv == 0 || (header.rsv == 4 && deflateAccepted && !opcode.isControl && opcode != .continuation) else {
                    fail(channel, "unexpected RSV bits from server")
                    return
                }
                if !opcode.isControl && opcode != .continuation {
                    messageOpcode = opcode
                    messageCompressed = header.rsv == 4
                }
            case .payload(let chunk, let frameEnd):
                guard let opcode = frameOpcode else { return }
                if opcode.isControl {
                    controlPayload.append(contentsOf: chunk)
                    if frameEnd { control(channel, opcode) }
                    continue
                }
                if frameEnd && frameFin && partial.isEmpty {
                    // The common case: a whole message in this read, handled in place.
                    guard received(channel, UnsafeRawBufferPointer(chunk), nowUs: nowUs) else { return fail(channel, "bad compressed message") }
                    continue
                }
                if partial.count + chunk.count > BenchClient.messageBytesMax {
                    fail(channel, "message from server too large")
                    return
                }
                partial.append(contentsOf: chunk)
                if frameEnd && frameFin {
                    let message = partial
                    partial = []
                    guard message.withUnsafeBytes({ received(channel, $0, nowUs: nowUs) }) else {
                        return fail(channel, "bad compressed message")
                    }
                }
            }
        }
    }

    /// Hands one whole server message to the owner as JSON text: as it came on a JSON
    /// connection; decoded from CBOR (and written as JSON) on a `cbor` one, where a text message
    /// or bytes that do not decode fail the connection.
    private func deliver(_ channel: Channel, _ message: UnsafeRawBufferPointer, nowUs: Int64) {
        guard transport == .cbor else {
            owner.clientReceived(self, message, nowUs: nowUs)
            return
        }
        guard messageOpcode == .binary, let value = try? JSON.decodeCBOR(message, byteStrings: .base64Anywhere) else {
            fail(channel, "not a CBOR binary message from the server")
            return
        }
        value.encoded().withUnsafeBytes { owner.clientReceived(self, $0, nowUs: nowUs) }
    }

    /// Hands a complete message on, inflated first when it came compressed.
    private func received(_ channel: Channel, _ message: UnsafeRawBufferPointer, nowUs: Int64) -> Bool {
        guard messageCompressed, let compression else {
            deliver(channel, message, nowUs: nowUs)
            return true
        }
        return compression.inflate(message, bytesMax: BenchClient.messageBytesMax) { deliver(channel, $0, nowUs: nowUs) }
    }

    /// Answers a ping (section 5.5.2) or a close (section 5.5.1); a pong needs nothing.
    private func control(_ channel: Channel, _ opcode: WebSocketOpcode) {
        let payload = controlPayload
        controlPayload = []
        switch opcode {
        case .ping:
            channel.write(WebSocketFrameEncoder.encode(opcode: .pong, payload: payload, maskKey: WebSocketMaskKey(0x5a5a_5a5a)))
        case .close:
            if closeReason == nil {
                let code = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
                closeReason = "server closed the WebSocket (\(code))"
            }
            channel.write(WebSocketFrameEncoder.encode(opcode: .close, payload: payload.prefix(2), maskKey: WebSocketMaskKey(0x5a5a_5a5a)))
            channel.closeAfterFlush()
        default:
            break
        }
    }

    // MARK: - Lines

    private func readLines(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer, nowUs: Int64) {
        do {
            try framer.feed(UnsafeRawBufferPointer(bytes)) { line in
                owner.clientReceived(self, line, nowUs: nowUs)
            }
        } catch {
            fail(channel, "line from server too long")
        }
    }
}
