// ObservabilityTests: what an operator sees of a real instance (issue 13): histograms and shard-labelled worker numbers in /metrics, JSON log lines without secrets, and `deploy/tagarela top --once`.
import Foundation
import TestSupport
import XCTest

final class ObservabilityTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }
    /// JSON logs, and every request logged as slow (threshold 0) so the login and auth requests
    /// have lines of their own that must still hold no secret.
    override class var extraFlags: [String] { ["--log-format", "json", "--slow-request-ms", "0"] }

    /// Two users, a chat, messages, a second connection by token: traffic every histogram sees.
    private func traffic(_ prefix: String) throws -> (passwords: [String], tokens: [String]) {
        let people = users(prefix, onWorkers: [0, 1])
        let a = try registeredClient(people[0], .webSocket)
        let b = try registeredClient(people[1], .ndjson)
        let token = try a.login(people[0])
        let c = try connect(.ndjson, "by-token")
        _ = try c.ok("auth", [("token", .string(token))])
        let chat = try a.ok("create_chat", [("user_id", .string(people[1].name))])["chat"]?["id"]?.string ?? ""
        for i in 0..<5 {
            _ = try a.sendMessage(chat, "hello \(i)")
            _ = try b.event("message:new")
        }
        return (people.map(\.password), [token])
    }

    func testMetricsCarryLatencyHistogramsAndEveryShard() throws {
        _ = try traffic("metrics")
        let metrics = try E2EHTTP.get(port: port, "/metrics")
        XCTAssertEqual(metrics.status, 200)
        var samples: [String: Double] = [:]
        for line in metrics.text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let v = Double(parts[1]) { samples[String(parts[0])] = v }
        }
        XCTAssertTrue(metrics.text.contains("# TYPE tagarela_request_duration_seconds histogram\n"))
        XCTAssertGreaterThanOrEqual(samples["tagarela_request_duration_seconds_count{type=\"message\"}"] ?? 0, 5)
        XCTAssertEqual(samples["tagarela_request_duration_seconds_bucket{type=\"message\",le=\"+Inf\"}"],
                       samples["tagarela_request_duration_seconds_count{type=\"message\"}"])
        XCTAssertGreaterThanOrEqual(samples["tagarela_delivery_queueing_seconds_count"] ?? 0, 5)
        for k in 0..<2 {
            XCTAssertEqual(samples["tagarela_shard_up{shard=\"\(k)\"}"], 1, metrics.text)
            XCTAssertGreaterThanOrEqual(samples["tagarela_shard_users{shard=\"\(k)\"}"] ?? 0, 1)
            XCTAssertGreaterThanOrEqual(samples["tagarela_shard_starts_total{shard=\"\(k)\"}"] ?? 0, 1)
            XCTAssertGreaterThan(samples["tagarela_shard_commit_duration_seconds_count{shard=\"\(k)\"}"] ?? 0, 0)
            XCTAssertGreaterThan(samples["tagarela_shard_fdatasync_duration_seconds_count{shard=\"\(k)\"}"] ?? 0, 0,
                                 "fsync always: every commit syncs")
        }
        XCTAssertGreaterThanOrEqual(samples.filter { $0.key.hasPrefix("tagarela_shard_messages{") }.values.reduce(0, +), 5)
    }

    func testJSONLogLinesCarryEventsButNeverATokenOrPassword() throws {
        let (passwords, tokens) = try traffic("logs")
        // The connections of this test close now; the gateway writes their closing lines once
        // its loops have seen the closes (bounded wait: a loaded machine may take a while).
        tearDown()
        let path = instance.runDir + "/gateway.log"
        XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: 15_000, intervalMs: 50) {
            (try? String(contentsOfFile: path, encoding: .utf8))?.contains("\"reason\":\"peer\"") == true
        }, "the closes were logged")
        let gateway = try String(contentsOfFile: path, encoding: .utf8)
        var events: [String: Int] = [:]
        for line in gateway.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return XCTFail("not a JSON line: \(line)")
            }
            for key in ["time", "level", "process", "event"] { XCTAssertNotNil(object[key], "\(key) in \(line)") }
            events[object["event"] as? String ?? "", default: 0] += 1
        }
        XCTAssertGreaterThan(events["connection_opened"] ?? 0, 0, "\(events)")
        XCTAssertGreaterThan(events["connection_closed"] ?? 0, 0, "\(events)")
        XCTAssertTrue(gateway.contains("\"type\":\"login\""), "a slow_request line for the login")
        XCTAssertTrue(gateway.contains("\"type\":\"auth\""), "a slow_request line for the auth")
        XCTAssertTrue(gateway.contains("\"reason\":\"peer\""), "a connection the client closed")
        var all = gateway
        for k in 0..<2 {
            let worker = try String(contentsOfFile: instance.runDir + "/worker-\(k).log", encoding: .utf8)
            XCTAssertTrue(worker.contains("\"event\":\"worker_started\""), worker)
            all += worker
        }
        all += (try? String(contentsOfFile: instance.runDir + "/supervisor.log", encoding: .utf8)) ?? ""
        for secret in passwords + tokens {
            XCTAssertFalse(all.contains(secret), "a secret in the logs")
        }
        // The token's secret part (after the user id) is never logged either.
        for token in tokens {
            let secretPart = String(token.split(separator: ".").last ?? "")
            XCTAssertFalse(secretPart.isEmpty || all.contains(secretPart), "a token's secret in the logs")
        }
    }

    func testTopOnceShowsConnectionsRatesLatencyProcessesAndShards() throws {
        let people = users("top", onWorkers: [0, 1])
        let a = try registeredClient(people[0], .ndjson)
        let b = try registeredClient(people[1], .webSocket)
        let chat = try a.ok("create_chat", [("user_id", .string(people[1].name))])["chat"]?["id"]?.string ?? ""
        // Traffic during the one-second window top measures, from a thread of its own, until top
        // has taken its second sample: on a loaded machine the script may take seconds to take
        // its first. Bounded: 25 messages a second (under the connection's rate limit) for 20 s.
        let done = DispatchSemaphore(value: 0)
        let topFinished = DispatchSemaphore(value: 0)
        let failure = Locked<Error?>(nil)
        Thread {
            defer { done.signal() }
            do {
                for i in 0..<500 {
                    _ = try a.sendMessage(chat, "top \(i)")
                    if topFinished.wait(timeout: .now() + 0.04) == .success { break }
                }
            } catch { failure.value = error }
        }.start()
        let result: E2ECommandResult
        do {
            defer { topFinished.signal() }
            result = try instance.supervisor(["top", "--once", "--data", instance.dataDir], timeoutMs: 20_000)
        }
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success)
        XCTAssertNil(failure.value)
        XCTAssertEqual(result.status, 0, result.output)
        let out = result.output
        XCTAssertTrue(out.contains("connections   websocket 1  ndjson 1"), out)
        XCTAssertTrue(out.range(of: #"deliveries [1-9][0-9]*\.[0-9]"#, options: .regularExpression) != nil, out)
        XCTAssertTrue(out.range(of: #"request       p50 [0-9.]+ms  p99 [0-9.]+ms"#, options: .regularExpression) != nil, out)
        XCTAssertTrue(out.range(of: #"delivery      p50 [0-9.]+ms  p99 [0-9.]+ms"#, options: .regularExpression) != nil, out)
        for name in ["supervisor", "gateway", "worker-0", "worker-1"] {
            XCTAssertTrue(out.range(of: "\(name) +[0-9]+ +[0-9.]+ +[0-9.]+", options: .regularExpression) != nil, "\(name): \(out)")
        }
        XCTAssertTrue(out.range(of: #"\n0 +1 +[0-9]+"#, options: .regularExpression) != nil, "shard 0 up: \(out)")
        XCTAssertTrue(out.range(of: #"\n1 +1 +[0-9]+"#, options: .regularExpression) != nil, "shard 1 up: \(out)")
        _ = b
    }

    /// A killed worker comes back counted: its shard's start counter says 2, and the supervisor's
    /// restart line is JSON like the rest. Runs last in the class (tests run in name order).
    func testZZAKilledWorkerIsCountedAndLoggedAsARestart() throws {
        let pid = try XCTUnwrap(instance.workerPID(1))
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        var starts: Double?
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            let text = (try? E2EHTTP.get(port: port, "/metrics"))?.text ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix("tagarela_shard_starts_total{shard=\"1\"} ") {
                starts = Double(line.split(separator: " ")[1])
            }
            if starts == 2 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(starts, 2, "the restarted worker's start count")
        let log = try String(contentsOfFile: instance.runDir + "/worker-1.log", encoding: .utf8)
        let restart = log.split(separator: "\n").first { $0.contains("\"event\":\"worker_restart\"") }
        let object = restart.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(object?["process"] as? String, "supervisor", log)
        XCTAssertEqual(object?["name"] as? String, "worker-1")
        XCTAssertEqual(object?["status"] as? Int, 137, "128 + SIGKILL")
    }
}
