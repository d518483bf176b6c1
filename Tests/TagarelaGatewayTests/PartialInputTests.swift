// PartialInputTests: unfinished lines and WebSocket messages are bounded in time (a deadline once started) and in total (the biggest holders are closed first), on a live gateway.
import Foundation
import XCTest
import TagarelaJSON
import TagarelaWire
@testable import TagarelaGateway

final class PartialInputTests: GatewayTestCase {
    /// The close code of a close frame.
    func closeCode(_ frame: (opcode: UInt8, payload: [UInt8])?) -> UInt16? {
        guard let f = frame, f.opcode == 0x8, f.payload.count >= 2 else { return nil }
        return UInt16(f.payload[0]) << 8 | UInt16(f.payload[1])
    }

    /// The header of a masked client frame announcing `length` payload bytes (RFC 6455 5.2).
    func frameHeader(_ opcode: UInt8, fin: Bool, length: Int) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if length < 126 {
            out.append(0x80 | UInt8(length))
        } else if length <= 0xFFFF {
            out += [0x80 | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        } else {
            out.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((length >> shift) & 0xFF)) }
        }
        return out + [0, 0, 0, 0]  // a zero mask key: the payload goes as is
    }

    func partialTotal(_ h: GatewayHarness) -> Int { onLoop(h) { $0.partialInput.totalBytes } }

    // MARK: - Deadline

    func testAnUnfinishedLineIsClosedAtItsDeadlineAndTricklingDoesNotExtendIt() throws {
        // Long enough that the steady client (a line every 20 ms) never comes near it on a
        // loaded machine, short enough for a quick test.
        let h = try start(workers: 0, configure: { $0.limits.partialInputTimeoutMs = 1_000 })
        let brace = try h.client()
        brace.send("{")
        let trickle = try h.client()
        trickle.send("{\"type\":\"typing\"")
        let steady = try h.client()
        steady.send("{\"type\":")
        let started = Date()
        // The trickler adds a byte every 20 ms: the deadline counts from the line's first byte.
        XCTAssertTrue(waitUntil(timeoutMs: 5_000) {
            trickle.send(" ")
            usleep(15_000)
            // Complete lines, each finished well inside the deadline, keep the steady one open.
            steady.send("\"typing\",\"chat_id\":\"c\"}\n{\"type\":")
            return trickle.hasPendingInput()
        }, "the trickling line is answered (then closed)")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.9, "not before the deadline")
        for c in [brace, trickle] {
            let error = json(c.readLine())
            XCTAssertEqual(error?["type"]?.string, "error")
            XCTAssertEqual(error?["code"]?.string, "timeout")
            XCTAssertTrue(c.waitForClose())
        }
        // The steady one finishes its last line and is answered (unauthenticated: no login here).
        steady.send("\"typing\",\"chat_id\":\"c\",\"request_id\":\"last\"}\n")
        var last: JSON? = nil
        while let line = steady.readLine() {
            let reply = json(line)
            if reply?["request_id"]?.string == "last" { last = reply; break }
            XCTAssertEqual(reply?["code"]?.string, "unauthenticated", line)
        }
        XCTAssertEqual(last?["code"]?.string, "unauthenticated")
        XCTAssertEqual(samples(metricsText(h))["tagarela_partial_input_closes_total{reason=\"timeout\"}"], 2)
    }

    func testAnUnfinishedWebSocketMessageIsClosed1008AtItsDeadline() throws {
        let h = try start(workers: 0, configure: { $0.limits.partialInputTimeoutMs = 300 })
        // A non-final fragment: the message is never finished.
        let fragment = try h.client()
        XCTAssertNotNil(fragment.upgrade())
        fragment.send(frameHeader(0x1, fin: false, length: 2) + Array("{\"".utf8))
        // Pings between the fragments do not finish the message.
        fragment.sendFrame(.ping, [])
        // A frame whose payload never completes.
        let short = try h.client()
        XCTAssertNotNil(short.upgrade())
        short.send(frameHeader(0x1, fin: true, length: 100) + Array("{\"type\"".utf8))
        let idle = try h.client()
        XCTAssertNotNil(idle.upgrade())
        for c in [fragment, short] {
            var frame = c.readFrame()
            if frame?.opcode == 0xA { frame = c.readFrame() }
            XCTAssertEqual(closeCode(frame), 1008)
        }
        // A connection between messages has no deadline.
        idle.sendText("{\"type\":\"typing\",\"request_id\":\"i\",\"chat_id\":\"c\"}")
        XCTAssertEqual(json(idle.readText())?["request_id"]?.string, "i")
    }

    // MARK: - Total

    func testPastTheTotalTheBiggestHoldersAreClosedFirstAndTheOthersStay() throws {
        // Each loop holds at most its share of the total; one loop here.
        let h = try start(workers: 0, configure: { $0.limits.partialInputBytesMax = 150_000 })
        let big = try h.client()
        big.send("{\"content\":\"" + String(repeating: "a", count: 100_000))
        XCTAssertTrue(waitUntil { self.partialTotal(h) >= 100_000 || !big.isOpen() })
        // Kept lines take between their size and twice it, so whatever the reads were, the big
        // one is the biggest holder and the rest fit once it is gone.
        let small = try (0..<3).map { _ in try h.client() }
        for c in small { c.send("{\"type\":\"typing\",\"request_id\":\"s\",\"chat_id\":\"" + String(repeating: "c", count: 12_000)) }
        let third = try h.client()
        third.send("{\"type\":\"typing\",\"request_id\":\"t\",\"chat_id\":\"" + String(repeating: "d", count: 20_000))
        let error = json(big.readLine())
        XCTAssertEqual(error?["code"]?.string, "too_large")
        XCTAssertTrue(big.waitForClose())
        for c in small + [third] {
            XCTAssertTrue(c.isOpen())
            c.send("\"}\n")
            XCTAssertEqual(json(c.readLine())?["code"]?.string, "unauthenticated", "the line is read whole and answered")
        }
        XCTAssertTrue(waitUntil { self.partialTotal(h) == 0 }, "finished lines give their bytes back")
        XCTAssertEqual(samples(metricsText(h))["tagarela_partial_input_closes_total{reason=\"total\"}"], 1)
    }

    func testAWebSocketMessageInProgressCountsAgainstTheTotalAndIsClosed1009() throws {
        let h = try start(workers: 0, configure: { $0.limits.partialInputBytesMax = 100_000 })
        let ws = try h.client()
        XCTAssertNotNil(ws.upgrade())
        // The gateway reserves the announced payload for reassembly once the first bytes come.
        ws.send(frameHeader(0x1, fin: true, length: 80_000) + Array("{\"type\":".utf8))
        XCTAssertTrue(waitUntil { self.partialTotal(h) >= 80_000 })
        let line = try h.client()
        line.send("{\"type\":\"typing\",\"chat_id\":\"" + String(repeating: "c", count: 30_000))
        XCTAssertEqual(closeCode(ws.readFrame()), 1009)
        XCTAssertTrue(line.isOpen())
        line.send("\"}\n")
        XCTAssertEqual(json(line.readLine())?["code"]?.string, "unauthenticated")
    }

    func testAnUnfinishedHTTPHeadCountsAgainstTheTotalAndGets503() throws {
        let h = try start(workers: 0, configure: { $0.limits.partialInputBytesMax = 10_000 })
        let head = try h.client()
        head.send("GET /ws HTTP/1.1\r\nHost: x\r\nX-Pad: " + String(repeating: "p", count: 7_000))
        XCTAssertTrue(waitUntil { self.partialTotal(h) >= 7_000 })
        let line = try h.client()
        line.send("{\"type\":\"typing\",\"chat_id\":\"" + String(repeating: "c", count: 4_000))
        let answer = String(decoding: head.readToEOF(), as: UTF8.self)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 503 "), answer)
        line.send("\"}\n")
        XCTAssertEqual(json(line.readLine())?["code"]?.string, "unauthenticated")
    }

    // MARK: - The budget alone

    func testBudgetNamesTheBiggestHoldersUntilTheRestFits() {
        var budget = PartialInputBudget(bytesMax: 100)
        XCTAssertEqual(budget.update(1, bytes: 40), [])
        XCTAssertEqual(budget.update(2, bytes: 30), [])
        XCTAssertEqual(budget.update(3, bytes: 20), [])
        XCTAssertEqual(budget.totalBytes, 90)
        // 4 brings the total to 125: the biggest (1) goes, leaving 85.
        XCTAssertEqual(budget.update(4, bytes: 35), [1])
        XCTAssertEqual(budget.totalBytes, 85)
        XCTAssertEqual(budget.update(4, bytes: 0), [], "a finished message gives its bytes back")
        XCTAssertEqual(budget.totalBytes, 50)
        XCTAssertEqual(budget.holderCount, 2)
        // One holder far past the rest: only it goes, even when it is the one that grew.
        XCTAssertEqual(budget.update(5, bytes: 90), [5])
        XCTAssertEqual(budget.totalBytes, 50)
        budget.remove(2)
        budget.remove(3)
        XCTAssertEqual(budget.totalBytes, 0)
        XCTAssertEqual(budget.holderCount, 0)
    }
}
