// LatencyMetricsTests: the histograms in /metrics move by exactly the requests and deliveries made, worker stats carry their shard label, and the text keeps the exposition format's rules.
import Foundation
import XCTest
import TagarelaLink
@testable import TagarelaGateway

final class LatencyMetricsTests: GatewayTestCase {
    func testRequestAndDeliveryHistogramsCountWhatTheTrafficDid() throws {
        let h = try start(workers: 1, loops: 2)
        let before = samples(metricsText(h))
        let alice = try h.client()
        alice.send(loginLine("alice"))
        XCTAssertEqual(json(alice.readLine())?["status"]?.string, "ok")
        let bob = try h.client()
        bob.send(loginLine("bob"))
        XCTAssertEqual(json(bob.readLine())?["status"]?.string, "ok")
        for i in 0..<3 {
            alice.send("{\"type\":\"message\",\"request_id\":\"m\(i)\",\"chat_id\":\"d:alice:bob\",\"content\":\"hi\"}\n")
            XCTAssertEqual(json(alice.readLine())?["request_id"]?.string, "m\(i)")
            XCTAssertEqual(json(bob.readLine())?["type"]?.string, "message:new")
        }
        alice.send("{\"type\":\"get_presence\",\"request_id\":\"p\",\"user_ids\":[\"bob\"]}\n")
        XCTAssertEqual(json(alice.readLine())?["request_id"]?.string, "p")
        let text = metricsText(h)
        let after = samples(text)
        func delta(_ key: String) -> Int { (after[key] ?? -1_000) - (before[key] ?? 0) }
        XCTAssertEqual(delta("tagarela_request_duration_seconds_count{type=\"login\"}"), 2)
        XCTAssertEqual(delta("tagarela_request_duration_seconds_count{type=\"message\"}"), 3)
        XCTAssertEqual(delta("tagarela_request_duration_seconds_bucket{type=\"message\",le=\"+Inf\"}"), 3)
        XCTAssertEqual(delta("tagarela_request_duration_seconds_count{type=\"get_presence\"}"), 1)
        XCTAssertEqual(delta("tagarela_request_duration_seconds_count{type=\"typing\"}"), 0)
        // bob read his three events, so they were written: each is observed once.
        XCTAssertEqual(delta("tagarela_delivery_queueing_seconds_count"), 3)
        XCTAssertEqual(delta("tagarela_deliveries_total"), 3)
        try checkExposition(text)
    }

    func testWorkerStatsAppearUnderTheirShardLabel() throws {
        let h = try start(workers: 2, loops: 1)
        let text = metricsText(h)
        let s = samples(text)
        XCTAssertEqual(s["tagarela_shard_up{shard=\"0\"}"], 1)
        XCTAssertEqual(s["tagarela_shard_up{shard=\"1\"}"], 1)
        XCTAssertEqual(s["tagarela_shard_users{shard=\"1\"}"], 7)
        XCTAssertEqual(s["tagarela_shard_starts_total{shard=\"0\"}"], 2)
        XCTAssertEqual(s["tagarela_shard_commit_duration_seconds_bucket{shard=\"1\",le=\"5e-05\"}"], 2)
        XCTAssertEqual(s["tagarela_shard_commit_duration_seconds_count{shard=\"1\"}"], 2)
        XCTAssertTrue(text.contains("tagarela_shard_commit_duration_seconds_sum{shard=\"1\"} 6e-05\n"), text)
        XCTAssertNil(s["tagarela_shard_chats{shard=\"0\"}"], "a value the worker did not send has no sample")
        try checkExposition(text)
    }

    func testAWorkerThatDoesNotAnswerIsDown() throws {
        let h = try start(workers: 2, loops: 1)
        h.workers[1].stop()
        XCTAssertTrue(waitUntil { self.samples(self.metricsText(h))["tagarela_worker_links_up{worker=\"1\"}"] == 0 })
        let s = samples(metricsText(h))
        XCTAssertEqual(s["tagarela_shard_up{shard=\"0\"}"], 1)
        XCTAssertEqual(s["tagarela_shard_up{shard=\"1\"}"], 0)
        XCTAssertNil(s["tagarela_shard_users{shard=\"1\"}"])
    }

    /// Scrapes that come while one is being gathered join it: each worker is asked for its
    /// stats once, not once per scrape (a worker counts its shard in O(chats) per request, and
    /// `/metrics` is open to anyone who can reach the port).
    func testConcurrentScrapesShareOneStatsRequest() throws {
        let h = try start(workers: 1, loops: 1)
        let loop = h.gateway.loops[0]
        let done = DispatchSemaphore(value: 0)
        var texts: [String] = []
        loop.eventLoop.execute {
            for _ in 0..<3 {
                loop.gatherMetricsText { text in
                    texts.append(text)
                    done.signal()
                }
            }
        }
        for _ in 0..<3 { XCTAssertEqual(done.wait(timeout: .now() + 5), .success) }
        XCTAssertEqual(h.workers[0].statsRequests, 1)
        XCTAssertEqual(texts.count, 3)
        XCTAssertEqual(Set(texts).count, 1, "every waiter got the same text")
        XCTAssertEqual(samples(texts[0])["tagarela_shard_up{shard=\"0\"}"], 1)
        // The next scrape, after that one finished, asks again.
        _ = metricsText(h)
        XCTAssertEqual(h.workers[0].statsRequests, 2)
    }

    /// The rules of the text format (0.0.4) that promtool checks and a hand-written renderer can
    /// break: every sample follows its family's HELP and TYPE, a family is declared once, a
    /// histogram's buckets ascend in `le`, are cumulative, end in +Inf equal to `_count`.
    private func checkExposition(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var declared: [String: String] = [:]
        var current = ""
        var lastLE: [String: (Double, Int)] = [:]
        var infinity: [String: Int] = [:]
        for raw in text.split(separator: "\n") {
            let l = String(raw)
            if l.hasPrefix("# TYPE ") {
                let parts = l.split(separator: " ")
                XCTAssertNil(declared[String(parts[2])], "family \(parts[2]) declared twice", file: file, line: line)
                current = String(parts[2])
                declared[current] = String(parts[3])
                continue
            }
            if l.hasPrefix("#") { continue }
            let name = String(l.prefix { $0 != "{" && $0 != " " })
            let family = declared[current] == "histogram" ? name.replacingOccurrences(of: "_bucket", with: "")
                .replacingOccurrences(of: "_sum", with: "").replacingOccurrences(of: "_count", with: "") : name
            XCTAssertEqual(family, current, "sample \(l) outside its family", file: file, line: line)
            guard declared[current] == "histogram", let value = Int(l.split(separator: " ").last!) else { continue }
            if name.hasSuffix("_bucket"), let le = l.range(of: "le=\"") {
                let bound = String(l[le.upperBound...].prefix { $0 != "\"" })
                let series = l.replacingOccurrences(of: "le=\"\(bound)\"", with: "").split(separator: " ")[0]
                    .replacingOccurrences(of: "_bucket", with: "").replacingOccurrences(of: ",}", with: "}")
                    .replacingOccurrences(of: "{}", with: "")
                let b = bound == "+Inf" ? Double.infinity : Double(bound)!
                if let (prev, prevCount) = lastLE[series] {
                    XCTAssertLessThan(prev, b, "le ascends in \(series)", file: file, line: line)
                    XCTAssertLessThanOrEqual(prevCount, value, "buckets are cumulative in \(series)", file: file, line: line)
                }
                lastLE[series] = (b, value)
                if bound == "+Inf" { infinity[series] = value }
            } else if name.hasSuffix("_count") {
                let series = l.split(separator: " ")[0].replacingOccurrences(of: "_count", with: "")
                XCTAssertEqual(infinity[series], value, "+Inf bucket equals _count in \(series)", file: file, line: line)
            }
        }
        XCTAssertFalse(infinity.isEmpty, "some histogram was checked", file: file, line: line)
    }
}
