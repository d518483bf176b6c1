// WebSocketSubprotocolTests: which offered subprotocol is chosen (RFC 6455 sections 4.1, 4.2.2) and the exact 101 that names it.

import TagarelaWire
import TestSupport
import XCTest

final class WebSocketSubprotocolTests: XCTestCase {
    private func head(_ offers: [String]) -> HTTPRequestHead {
        HTTPRequestHead(method: "GET", target: "/ws", version: .http1_1, headers: [
            ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", WireVectors.handshakeKey), ("Sec-WebSocket-Version", "13"),
        ] + offers.map { ("Sec-WebSocket-Protocol", $0) })
    }

    func testTheClientsFirstSupportedNameIsChosen() {
        XCTAssertNil(WebSocketSubprotocol.select(head([])))
        XCTAssertNil(WebSocketSubprotocol.select(head(["chat, superchat"])))
        XCTAssertNil(WebSocketSubprotocol.select(head(["Tagarela.CBOR"])), "names compare exactly")
        XCTAssertNil(WebSocketSubprotocol.select(head(["tagarela.cbor2"])))
        XCTAssertEqual(WebSocketSubprotocol.select(head(["tagarela.cbor"])), "tagarela.cbor")
        XCTAssertEqual(WebSocketSubprotocol.select(head([" chat ,\ttagarela.cbor "])), "tagarela.cbor")
        XCTAssertEqual(WebSocketSubprotocol.select(head(["tagarela.json, tagarela.cbor"])), "tagarela.json")
        XCTAssertEqual(WebSocketSubprotocol.select(head(["tagarela.cbor, tagarela.json"])), "tagarela.cbor")
        XCTAssertEqual(WebSocketSubprotocol.select(head(["x", "tagarela.cbor"])), "tagarela.cbor")
    }

    func testThe101NamesTheChosenSubprotocol() {
        let expected = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: tagarela.cbor\r\n\r\n"
        let request = head(["tagarela.cbor"])
        let outcome = WebSocketHandshake.evaluate(request, allowedOrigins: nil,
                                                  subprotocol: WebSocketSubprotocol.select(request))
        XCTAssertEqual(outcome, .accept(response: Array(expected.utf8)))
    }
}
