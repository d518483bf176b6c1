// HTTPEndpointTests: what each HTTP request head gets, without sockets.
import XCTest
import TagarelaWire
@testable import TagarelaGateway

final class HTTPEndpointTests: XCTestCase {
    func head(_ target: String, _ headers: [(String, String)] = [("Host", "x")], method: String = "GET") -> HTTPRequestHead {
        HTTPRequestHead(method: method, target: target, version: .http1_1,
                        headers: headers.map { (name: $0.0, value: $0.1) })
    }

    let upgradeHeaders: [(String, String)] = [("Host", "x"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                              ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                              ("Sec-WebSocket-Version", "13")]

    func status(_ action: HTTPAction) -> Int? {
        guard case .respond(let bytes) = action else { return nil }
        let line = String(decoding: bytes.prefix(12), as: UTF8.self)
        return Int(line.dropFirst(9).prefix(3))
    }

    func testPlainRoutes() {
        XCTAssertEqual(status(HTTPEndpoint.action(for: head("/"), echoPath: nil, allowedOrigins: nil)), 200)
        XCTAssertEqual(status(HTTPEndpoint.action(for: head("/nope"), echoPath: nil, allowedOrigins: nil)), 404)
        XCTAssertEqual(status(HTTPEndpoint.action(for: head("/", method: "POST"), echoPath: nil, allowedOrigins: nil)), 405)
        XCTAssertEqual(HTTPEndpoint.action(for: head("/healthz"), echoPath: nil, allowedOrigins: nil), .health(headOnly: false))
        XCTAssertEqual(HTTPEndpoint.action(for: head("/metrics?x=1", method: "HEAD"), echoPath: nil, allowedOrigins: nil),
                       .metrics(headOnly: true))
        // The echo route does not exist unless configured.
        XCTAssertEqual(status(HTTPEndpoint.action(for: head("/echo", upgradeHeaders), echoPath: nil, allowedOrigins: nil)), 404)
    }

    /// A HEAD gets exactly the head a GET would get, and no body, errors included.
    func testHeadAnswersCarryNoBody() {
        for target in ["/nope", "/"] {
            guard case .respond(let get) = HTTPEndpoint.action(for: head(target), echoPath: nil, allowedOrigins: nil),
                  case .respond(let headOnly) = HTTPEndpoint.action(for: head(target, method: "HEAD"), echoPath: nil,
                                                                     allowedOrigins: nil) else {
                return XCTFail("\(target) should be answered directly")
            }
            let text = String(decoding: headOnly, as: UTF8.self)
            XCTAssertTrue(text.hasSuffix("\r\n\r\n"), "\(target): \(text)")
            XCTAssertEqual(Array(get.prefix(headOnly.count)), headOnly, "\(target): the same head as for GET")
            XCTAssertGreaterThan(get.count, headOnly.count, "\(target): the GET answer has a body")
        }
        // HEAD on the WebSocket route is refused (405: the handshake needs GET), without a body.
        guard case .respond(let refused) = HTTPEndpoint.action(for: head("/ws", upgradeHeaders, method: "HEAD"),
                                                               echoPath: nil, allowedOrigins: nil) else {
            return XCTFail("HEAD /ws should be refused")
        }
        let text = String(decoding: refused, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 405 "), text)
        XCTAssertTrue(text.hasSuffix("\r\n\r\n"), text)
    }

    func testWebSocketRoutes() {
        guard case .upgrade(let response, let echo, _) =
                HTTPEndpoint.action(for: head("/ws", upgradeHeaders), echoPath: nil, allowedOrigins: nil) else {
            return XCTFail("upgrade")
        }
        XCTAssertFalse(echo)
        XCTAssertTrue(String(decoding: response, as: UTF8.self).contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        guard case .upgrade(_, true, _) = HTTPEndpoint.action(for: head("/echo", upgradeHeaders), echoPath: "/echo",
                                                           allowedOrigins: nil) else {
            return XCTFail("echo upgrade")
        }
        // No Upgrade header: 400; version 12: 426; foreign origin: 403.
        XCTAssertEqual(status(HTTPEndpoint.action(for: head("/ws"), echoPath: nil, allowedOrigins: nil)), 400)
        var old = upgradeHeaders
        old[4] = ("Sec-WebSocket-Version", "12")
        XCTAssertEqual(status(HTTPEndpoint.action(for: head("/ws", old), echoPath: nil, allowedOrigins: nil)), 426)
        let foreign = upgradeHeaders + [("Origin", "https://evil.example")]
        XCTAssertEqual(status(HTTPEndpoint.action(for: head("/ws", foreign), echoPath: nil,
                                                  allowedOrigins: ["https://chat.example"])), 403)
    }

    /// GET /tagarela.js serves the client library as JavaScript (an ES module); HEAD its head only.
    func testLibraryIsServed() {
        guard case .respond(let get) = HTTPEndpoint.action(for: head("/tagarela.js"), echoPath: nil, allowedOrigins: nil),
              case .respond(let headOnly) = HTTPEndpoint.action(for: head("/tagarela.js", method: "HEAD"), echoPath: nil,
                                                                 allowedOrigins: nil) else {
            return XCTFail("/tagarela.js should be answered directly")
        }
        let text = String(decoding: get, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 200"), text)
        XCTAssertTrue(text.contains("Content-Type: text/javascript; charset=utf-8\r\n"))
        XCTAssertTrue(get.suffix(WebClientLibrary.bytes.count) == WebClientLibrary.bytes[...])
        XCTAssertEqual(headOnly, HTTPEndpoint.headOnly(get))
    }

    func testPageIsSelfContained() {
        let page = String(decoding: WebClientPage.bytes, as: UTF8.self)
        XCTAssertTrue(page.hasPrefix("<!doctype html>"))
        XCTAssertTrue(page.contains("/ws"))
        XCTAssertFalse(page.contains("src=\"http"))
        XCTAssertFalse(page.contains("href=\"http"))
    }

    func testHealthBodies() {
        let ok = String(decoding: HTTPEndpoint.health(downWorkers: [], workers: 2, loops: 1, headOnly: false), as: UTF8.self)
        XCTAssertTrue(ok.hasPrefix("HTTP/1.1 200"))
        XCTAssertTrue(ok.contains("\"status\":\"ok\""))
        let bad = String(decoding: HTTPEndpoint.health(downWorkers: [1], workers: 2, loops: 1, headOnly: false), as: UTF8.self)
        XCTAssertTrue(bad.hasPrefix("HTTP/1.1 503"))
        XCTAssertTrue(bad.contains("\"down_workers\":[1]"))
    }
}
