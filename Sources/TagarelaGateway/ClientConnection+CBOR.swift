// ClientConnection+CBOR: the `tagarela.cbor` WebSocket subprotocol: CBOR messages in, to the JSON the session and workers read; JSON out, to CBOR binary frames.
import TagarelaCBOR
import TagarelaEventLoop
import TagarelaJSON
import TagarelaModel
import TagarelaWire

/// Where the protocol carries bytes (PROTOCOL.md 3.7): the one place a CBOR byte string stands
/// for the JSON protocol's base64 text, each way.
enum CBORProtocol {
    /// Requests: `message`'s `attachment.data`; a byte string anywhere else is `bad_request`.
    static let requestByteStrings: CBORByteStrings = .base64(at: [["attachment", "data"]])
    /// Responses: `get_attachment`'s `data`.
    static let attachmentResponseType = "get_attachment"
    static let attachmentResponsePaths: [CBORKeyPath] = [["data"]]

    /// The CBOR of one response or event the workers or the gateway wrote as JSON; nil only if
    /// that JSON does not parse, which would be a server bug.
    static func transcode(_ json: [UInt8]) -> [UInt8]? {
        guard let value = try? JSON.parse(json) else { return nil }
        let paths = value["type"]?.string == attachmentResponseType ? attachmentResponsePaths : []
        return value.encodedCBOR(bytePaths: paths)
    }
}

extension ClientConnection {
    /// One complete chat-protocol WebSocket message. The subprotocol fixes the message kind
    /// (PROTOCOL.md 1.3): JSON connections send text, CBOR connections binary; the other kind
    /// closes with 1003 (RFC 6455 section 7.4.1: data of a type the endpoint cannot accept).
    func receiveMessage(_ kind: WebSocketMessageKind, _ payload: UnsafeRawBufferPointer) {
        guard (kind == .binary) == speaksCBOR else {
            // Nothing may follow our close frame: the connection leaves its user's fan-out now.
            drive(.ending)
            pendingClose = (.unsupportedData, speaksCBOR ? "binary CBOR messages only (tagarela.cbor)"
                                                         : "text JSON messages only (no tagarela.cbor)")
            return
        }
        guard speaksCBOR else {
            drive(.request(payload))
            return
        }
        // The session and the workers read JSON: the CBOR becomes the JSON a JSON client would
        // have sent, so both kinds of client meet the same rules.
        let value: JSON
        do {
            value = try JSON.decodeCBOR(payload, byteStrings: CBORProtocol.requestByteStrings)
        } catch {
            drive(.undecodable(RequestFailure(type: "error", requestID: nil,
                                              error: RequestError(.badRequest, "invalid CBOR: \(error)"))))
            return
        }
        // The JSON form may be longer than the CBOR (a control character is 1 byte in CBOR, a
        // 6-byte escape in JSON; bytes grow by a third as base64): it is held to the message
        // limit a JSON client's message meets (1009, as for a JSON message over it), so a CBOR
        // client never sends the workers more than a JSON client can.
        let json = value.encoded()
        guard json.count <= loop.limits.webSocketMessageBytesMax else {
            drive(.ending)
            pendingClose = (.messageTooBig, "message over \(loop.limits.webSocketMessageBytesMax) bytes as JSON")
            return
        }
        json.withUnsafeBytes { drive(.request($0)) }
    }

    /// A response or gateway-made message for a CBOR connection, as a binary frame.
    func cborFrame(_ json: [UInt8]) -> OutboundBytes? {
        guard let frame = FanOut.cborFrame(json) else {
            loop.config.log("connection \(id): a reply or event that is not JSON (a server bug) was not sent")
            return nil
        }
        return frame
    }
}

extension FanOut {
    /// An unmasked, unfragmented binary frame (RFC 6455 section 5.6) around the CBOR of `json`.
    static func cborFrame(_ json: [UInt8]) -> OutboundBytes? {
        guard let cbor = CBORProtocol.transcode(json) else { return nil }
        let headerCount = WebSocketFrameEncoder.headerCount(payloadCount: cbor.count, masked: false)
        return OutboundBytes(count: headerCount + cbor.count) { out in
            WebSocketFrameEncoder.writeHeader(opcode: .binary, payloadCount: cbor.count, to: out)
            cbor.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: out[headerCount...]).copyMemory(from: source)
            }
        }
    }
}
