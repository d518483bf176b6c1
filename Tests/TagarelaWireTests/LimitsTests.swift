// LimitsTests: the defaults are the ones PROTOCOL.md and RFC 6455 state, and the inline states stay small.

import TagarelaWire
import XCTest

final class LimitsTests: XCTestCase {
    func testDefaultsMatchTheProtocol() {
        let limits = Limits.default
        XCTAssertEqual(limits.httpHeadBytesMax, 8 * 1024)
        XCTAssertEqual(limits.webSocketMessageBytesMax, 1 << 20)
        XCTAssertEqual(limits.ndjsonLineBytesMax, 1 << 20)
        XCTAssertEqual(Limits.controlFramePayloadBytesMax, 125)
        XCTAssertEqual(limits.handshakeTimeoutMs, 10_000)
        XCTAssertEqual(limits.idlePingIntervalMs, 30_000)
        XCTAssertEqual(limits.pongTimeoutMs, 60_000)
        XCTAssertEqual(limits.requestsPerSecond, 50)
        XCTAssertEqual(limits.requestBurst, 100)
        XCTAssertEqual(limits.rateLimitedErrorsMax, 100)
        XCTAssertEqual(limits.rateLimitedWindowMs, 10_000)
        // README: "TCP keepalive (60 s idle, 6 probes 10 s apart)".
        XCTAssertEqual(limits.tcpKeepAliveIdleSeconds, 60)
        XCTAssertEqual(limits.tcpKeepAliveIntervalSeconds, 10)
        XCTAssertEqual(limits.tcpKeepAliveProbesMax, 6)
    }

    /// The gateway keeps one of each per connection and must stay under 2 KiB per idle one.
    func testPerConnectionStateIsSmall() {
        XCTAssertLessThanOrEqual(MemoryLayout<WebSocketConnection>.size, 128)
        XCTAssertLessThanOrEqual(MemoryLayout<NDJSONFramer>.size, 32)
        XCTAssertLessThanOrEqual(MemoryLayout<ProtocolSniffer>.size, 16)
        XCTAssertLessThanOrEqual(MemoryLayout<HTTPHeadParser>.size, 48)
        XCTAssertEqual(WebSocketConnection().bufferedBytes, 0)
        XCTAssertEqual(NDJSONFramer().bufferedCount, 0)
    }

    func testCloseCodeValidity() {
        XCTAssertTrue(CloseCode.isValidOnWire(CloseCode.normalClosure.rawValue))
        XCTAssertFalse(CloseCode.isValidOnWire(CloseCode.noStatusReceived.rawValue))
        XCTAssertFalse(CloseCode.isValidOnWire(CloseCode.abnormalClosure.rawValue))
        XCTAssertFalse(CloseCode.isValidOnWire(CloseCode.tlsHandshake.rawValue))
        XCTAssertFalse(CloseCode.isValidOnWire(1004))
        XCTAssertTrue(CloseCode.isValidOnWire(CloseCode.badGateway.rawValue))
    }
}
