// SupervisorFlagsTests: the binaries' settings deploy/tagarela takes as its own flags (--attachment-bytes-max, --allowed-origins, the flush knobs) reach the processes, hold after `restart`, and are not passed at all when unset.
import Foundation
import TestSupport
import XCTest

final class SupervisorFlagsTests: EndToEndTestCase {
    override class var workerCount: Int { 2 }

    /// Every flag here used to be refused by `deploy/tagarela start` ("unknown option"), so the
    /// class's instance did not start.
    override class var extraFlags: [String] {
        ["--attachment-bytes-max", "1000", "--allowed-origins", "http://chat.example",
         "--flush-policy", "fixed", "--flush-spacing-ms", "1", "--flush-client-hold-ms", "1",
         "--flush-replies-promptly", "yes"]
    }

    static let gatewayFlags = ["--allowed-origins http://chat.example", "--flush-policy fixed", "--flush-spacing-ms 1",
                               "--flush-client-hold-ms 1", "--flush-replies-promptly yes"]
    static let workerFlags = ["--attachment-bytes-max 1000", "--flush-policy fixed"]

    func testFlagsReachTheProcessesAndHoldAfterRestart() throws {
        let people = users("flg", onWorkers: [0, 1])
        try connect(.ndjson, "peer").registerAndLogin(people[1])
        try assertApplied(people[0], to: people[1], register: true, after: "start")
        let restart = try instance.supervisor(["restart", "--data", instance.dataDir])
        XCTAssertEqual(restart.status, 0, restart.output + instance.logTail())
        try assertApplied(people[0], to: people[1], register: false, after: "restart")
    }

    /// The instance file keeps the flags, so restart and scale start the same instance again.
    private func assertApplied(_ user: E2EUser, to peer: E2EUser, register: Bool, after: String,
                               line: UInt = #line) throws {
        let gateway = instance.pid("gateway").flatMap(E2EProcess.commandLine) ?? ""
        for flag in Self.gatewayFlags {
            XCTAssertTrue(gateway.contains(flag), "after \(after), the gateway has \(flag): \(gateway)", line: line)
        }
        XCTAssertFalse(gateway.contains("--attachment-bytes-max"), "a worker's flag only: \(gateway)", line: line)
        for k in 0..<workers {
            let worker = instance.workerPID(k).flatMap(E2EProcess.commandLine) ?? ""
            for flag in Self.workerFlags {
                XCTAssertTrue(worker.contains(flag), "after \(after), worker \(k) has \(flag): \(worker)", line: line)
            }
            XCTAssertFalse(worker.contains("--allowed-origins"), "a gateway's flag only: \(worker)", line: line)
        }

        // What the settings do: a 1001-byte attachment is too large, a foreign Origin is refused.
        let client = try connect(.ndjson, user.name)
        _ = register ? try client.registerAndLogin(user) : try client.login(user)
        let chat = try client.ok("create_chat", [("user_id", .string(peer.name))])["chat"]?["id"]?.string ?? ""
        func send(_ count: Int, _ id: String) throws -> E2EJSON {
            let attachment = E2EJSON.object([("name", "a.bin"), ("mime", "application/octet-stream"),
                                             ("data", .string(Data(repeating: 7, count: count).base64EncodedString()))])
            return try client.request("message", [("chat_id", .string(chat)), ("content", "f"),
                                                  ("client_msg_id", .string(id)), ("attachment", attachment)])
        }
        assertOK(try send(1000, "\(after)-fits"), "message", line: line)
        assertError(try send(1001, "\(after)-over"), "message", "too_large", line: line)
        let handshake = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(E2EWebSocketClient.sampleKey)\r\nSec-WebSocket-Version: 13\r\n"
            + "Origin: http://elsewhere.example\r\n\r\n"
        XCTAssertEqual(try E2EHTTP.exchange(port: port, Array(handshake.utf8)).status, 403, "after \(after)", line: line)
    }

    /// An unset setting is left out of every command line, so the supervisor can run an older
    /// build that does not know the flag (e9749b6).
    func testUnsetFlagsAreNotPassed() throws {
        let plain = try E2EInstance(workers: 1)
        defer { plain.stop() }
        try plain.start()
        let lines = [plain.pid("gateway").flatMap(E2EProcess.commandLine) ?? "",
                     plain.workerPID(0).flatMap(E2EProcess.commandLine) ?? ""]
        XCTAssertTrue(lines[0].contains(" gateway ") && lines[1].contains(" worker "), "\(lines)")
        for line in lines {
            for flag in ["--attachment-bytes-max", "--allowed-origins", "--flush-policy", "--flush-spacing-ms",
                         "--flush-client-hold-ms", "--flush-replies-promptly", "--log-format", "--compression"] {
                XCTAssertFalse(line.contains(flag), "\(flag) was not set: \(line)")
            }
        }
    }

    /// A one-machine instance stays one when the shell that asks about it or restarts it has
    /// `TAGARELA_BUS` set (the systemd environment file sets it on bus hosts): the instance file
    /// says it has no bus, rather than leaving the variable to the environment.
    func testAnInstanceWithoutABusIgnoresTAGARELA_BUSInTheEnvironment() throws {
        let plain = try E2EInstance(workers: 1)
        defer { plain.stop() }
        try plain.start()
        let environment = E2EProcess.environment(["TAGARELA_BIN": E2EProcess.binary,
                                                  "TAGARELA_BUS": "nats://127.0.0.1:1"])
        let status = try E2EProcess.run("/bin/bash", [E2EProcess.supervisor, "status", "--data", plain.dataDir],
                                        environment: environment, timeoutMs: 30_000)
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertFalse(status.output.contains("bus "), status.output)
        let restart = try E2EProcess.run("/bin/bash", [E2EProcess.supervisor, "restart", "--data", plain.dataDir],
                                         environment: environment, timeoutMs: 60_000)
        XCTAssertEqual(restart.status, 0, restart.output)
        let gateway = plain.pid("gateway").flatMap(E2EProcess.commandLine) ?? ""
        XCTAssertTrue(gateway.contains(" gateway ") && !gateway.contains("--bus"), gateway)
    }
}
