// websocket: the RFC 6455 frame decoder and connection state machine fed in chunks, checked against the whole input.

import TagarelaWire

/// An action copied out of the emit call so runs can be compared.
private enum Recorded: Equatable {
    case message(WebSocketMessageKind, [UInt8])
    case send([UInt8])
    case close
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    var limits = Limits()
    // Control bit 7: a 64-byte message limit, so 1009 is reached with short inputs too.
    if input.control & 0x80 != 0 { limits.webSocketMessageBytesMax = 64 }
    let whole = run(input, [0..<input.stream.count], limits)
    let chunked = run(input, input.chunks(), limits)
    require(whole == chunked, "whole \(whole) != chunked \(chunked)")
    return 0
}

/// One connection fed `chunks`; checks the bounds after each and the shape of every action.
private func run(_ input: FuzzInput, _ chunks: [Range<Int>], _ limits: Limits) -> [Recorded] {
    var connection = WebSocketConnection(limits: limits)
    var recorded: [Recorded] = []
    // Control bits 5 and 6: the server pinged, or started the closing handshake, before any input.
    if input.control & 0x20 != 0 { recorded.append(.send(connection.pingFrame(payload: [1, 2, 3]))) }
    if input.control & 0x40 != 0 { recorded.append(.send(connection.closeFrame(code: .goingAway, reason: "bye"))) }
    // The reassembly buffer holds at most one message and may double while growing; the control
    // buffer one control frame. Anything past that is a leak of buffered input.
    let bufferedMax = 2 * (limits.webSocketMessageBytesMax + Limits.controlFramePayloadBytesMax) + 64
    for range in chunks {
        input.withExactCopy(range) { buffer in
            connection.receive(buffer) { action in
                require(recorded.last != .close, "an action after close")
                switch action {
                case .message(let kind, let payload):
                    require(payload.count <= limits.webSocketMessageBytesMax, "a \(payload.count)-byte message")
                    let bytes = Array(payload)
                    if kind == .text {
                        require(String(decoding: bytes, as: UTF8.self).utf8.elementsEqual(bytes), "invalid UTF-8 in a text message")
                    }
                    recorded.append(.message(kind, bytes))
                case .send(let frame):
                    // Server frames: FIN, unmasked, pong or close, at most 125 bytes of payload.
                    require(frame.count >= 2 && (frame[0] == 0x8A || frame[0] == 0x88), "bad server frame \(frame.prefix(2))")
                    require(Int(frame[1]) == frame.count - 2 && frame[1] <= 125, "bad server frame length \(frame[1])")
                    recorded.append(.send(frame))
                case .close:
                    recorded.append(.close)
                }
            }
        }
        require(connection.bufferedBytes <= bufferedMax, "\(connection.bufferedBytes) bytes buffered")
    }
    if recorded.last == .close {
        require(connection.state == .closed && connection.bufferedBytes == 0, "closed with state left")
    } else if connection.state == .open && connection.isBetweenMessages {
        require(connection.bufferedBytes == 0, "\(connection.bufferedBytes) bytes left between messages")
    }
    return recorded
}
