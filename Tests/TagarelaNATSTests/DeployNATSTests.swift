// DeployNATSTests: `deploy/tagarela nats` starts a JetStream nats-server the client uses, with a token, and stops it.
import Foundation
import TagarelaNATS
import TestSupport
import XCTest

final class DeployNATSTests: XCTestCase {
    func testDeployNatsServesTheClientWithATokenAndStops() throws {
        try requireNATSServer()
        let folder = TempDirectory(prefix: "tgr-deploy-nats")
        let data = folder.file("nats")
        let port = try E2EProcess.freePort()
        let env = E2EProcess.environment([:])
        defer { _ = try? E2EProcess.run(E2EProcess.supervisor, ["nats", "--stop", "--data", data], environment: env, timeoutMs: 20_000) }
        let started = try E2EProcess.run(E2EProcess.supervisor, ["nats", "--port", "\(port)", "--data", data, "--token", "t0k", "--detach"],
                                         environment: env, timeoutMs: 30_000)
        XCTAssertEqual(started.status, 0, started.output)
        XCTAssertTrue(started.output.contains("nats://127.0.0.1:\(port)"), started.output)
        let mode = (try FileManager.default.attributesOfItem(atPath: data + "/nats.conf")[.posixPermissions] as? NSNumber)?.intValue
        XCTAssertEqual(mode, 0o600, "the config file holds the token")

        let loop = try NATSTestLoop()
        defer { loop.stop() }
        let client = loop.connect("nats://127.0.0.1:\(port)", token: "t0k")
        loop.waitUntil { client.connection.isConnected }
        // JetStream is on: a bucket can be made.
        let ensured = loopResult(loop) { (done: @escaping (KVEnsure) -> Void) in
            NATSKeyValue.ensure(connection: client.connection, bucket: "probe", ttlMs: nil, replicas: 1, done)
        }
        XCTAssertNotNil(try? ensured?.get())
        loop.sync { client.connection.close() }

        let again = try E2EProcess.run(E2EProcess.supervisor, ["nats", "--port", "\(port)", "--data", data, "--detach"],
                                       environment: env, timeoutMs: 30_000)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.output.contains("already runs"), again.output)
        let stopped = try E2EProcess.run(E2EProcess.supervisor, ["nats", "--stop", "--data", data], environment: env, timeoutMs: 20_000)
        XCTAssertEqual(stopped.status, 0, stopped.output)
        XCTAssertTrue(stopped.output.contains("stopped"), stopped.output)
        XCTAssertFalse(E2EProcess.waitUntil(timeoutMs: 300) { (try? E2EByteStream(port: port)) != nil }, "still listening")
    }

    func testBadFlagsAreRefused() throws {
        let env = E2EProcess.environment([:])
        for (args, message) in [(["--port", "70000"], "ports are numbers"), (["--routes", "nats://127.0.0.1:1"], "--routes needs --cluster-port"),
                                (["--token", "a b"], "--token may hold"), (["--bogus"], "unknown option")] {
            let result = try E2EProcess.run(E2EProcess.supervisor, ["nats"] + args + ["--data", "/tmp/tgr-nats-never"],
                                            environment: env, timeoutMs: 10_000)
            XCTAssertNotEqual(result.status, 0, "\(args)")
            XCTAssertTrue(result.output.contains(message), "\(args): \(result.output)")
        }
        try? FileManager.default.removeItem(atPath: "/tmp/tgr-nats-never")
    }
}
