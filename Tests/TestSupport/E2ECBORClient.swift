// E2ECBORClient: a WebSocket client of the `tagarela.cbor` subprotocol for end-to-end tests: JSON text in the test, CBOR binary frames on the wire.
import TagarelaCBOR
import TagarelaSystem
import TagarelaJSON

/// A chat-protocol transport that speaks CBOR (PROTOCOL.md 1.3) while the test speaks JSON text:
/// each request is parsed and sent as one CBOR binary message, each binary message from the
/// server is decoded and handed back as JSON text. Byte strings from the server become base64
/// text, as the JSON protocol carries them; `binaryMessages` keeps every message as received
/// for tests that look at the bytes themselves.
public final class E2ECBORClient: E2ETextTransport {
    /// The WebSocket underneath (offered `tagarela.cbor` only).
    public let socket: E2EWebSocketClient
    /// Every binary message received, in order, as raw CBOR.
    public private(set) var binaryMessages: [[UInt8]] = []
    /// Where requests carry bytes: base64 text at these paths is sent as a CBOR byte string.
    public var requestBytePaths: [CBORKeyPath] = [["attachment", "data"]]

    /// Connects and upgrades with `Sec-WebSocket-Protocol: tagarela.cbor`; throws unless the
    /// server answers with that subprotocol.
    public init(port: Int, timeoutMs: Int = 3000) throws {
        socket = try E2EWebSocketClient(port: port, timeoutMs: timeoutMs, subprotocols: ["tagarela.cbor"])
        guard socket.subprotocol == "tagarela.cbor" else {
            socket.close()
            throw E2EError.protocolViolation("subprotocol answered: \(socket.subprotocol ?? "none")")
        }
    }

    /// The CBOR of a JSON request text.
    public func cbor(_ text: String) throws -> [UInt8] {
        do {
            return try JSON.parse(text).encodedCBOR(bytePaths: requestBytePaths)
        } catch {
            throw E2EError.protocolViolation("a CBOR client sends JSON values only: \(error)")
        }
    }

    public func sendText(_ text: String) throws {
        try socket.sendFrame(.binary, try cbor(text))
    }

    public func sendTexts(_ texts: [String]) throws {
        try socket.stream.send(try texts.flatMap { socket.frameBytes(.binary, try cbor($0)) })
    }

    /// The next binary message as JSON text; a text message is a protocol violation here.
    public func receiveText(timeoutMs: Int) throws -> String {
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        while true {
            let left = Int(max(1, deadline - Clock.monotonicMs()))
            switch try socket.receive(timeoutMs: left) {
            case .binary(let bytes):
                binaryMessages.append(bytes)
                do {
                    return String(decoding: try JSON.decodeCBOR(bytes, byteStrings: .base64Anywhere).encoded(), as: UTF8.self)
                } catch {
                    throw E2EError.protocolViolation("server sent invalid CBOR: \(error)")
                }
            case .text(let text): throw E2EError.protocolViolation("text message on a CBOR connection: \(text)")
            case .ping, .pong: continue
            case .close(let code, _): throw E2EError.closed(code: code)
            }
        }
    }

    public func close() { socket.close() }
}
