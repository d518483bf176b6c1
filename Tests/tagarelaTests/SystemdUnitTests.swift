// SystemdUnitTests: the command lines deploy/systemd's units run, expanded as systemd would with the example environment file, parse to the intended gateway and worker, with and without the bus.
@testable import tagarela
import Foundation
import XCTest

final class SystemdUnitTests: XCTestCase {
    private static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deploy/systemd").path

    private func text(_ name: String) throws -> String {
        try String(contentsOfFile: Self.folder + "/" + name, encoding: .utf8)
    }

    /// tagarela.env.example's assignments; with `bus`, its commented-out bus lines too.
    private func environment(bus: Bool) throws -> [String: String] {
        var env: [String: String] = [:]
        for var line in try text("tagarela.env.example").split(separator: "\n").map(String.init) {
            if bus, line.hasPrefix("#TAGARELA_BUS=") || line.hasPrefix("#TAGARELA_CLUSTER=") { line.removeFirst() }
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            env[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return env
    }

    /// The [Service] assignments of `unit` and then of each drop-in, in order.
    private func assignments(_ files: [String]) throws -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        for file in files {
            var inService = false
            for line in try text(file).split(separator: "\n").map(String.init) where !line.hasPrefix("#") {
                if line.hasPrefix("[") { inService = line == "[Service]"; continue }
                guard inService, let eq = line.firstIndex(of: "=") else { continue }
                out.append((String(line[..<eq]), String(line[line.index(after: eq)...])))
            }
        }
        return out
    }

    /// ExecStart= of `unit` as systemd runs it: `${VAR}` is one word of the environment's value,
    /// `%i` the instance name; the binary's path dropped.
    private func command(_ unit: String, instance: String = "", environment env: [String: String]) throws -> Command {
        guard let exec = try assignments([unit]).last(where: { $0.key == "ExecStart" })?.value else {
            throw UsageError("no ExecStart in \(unit)")
        }
        let words = exec.split(separator: " ").map { word -> String in
            var w = String(word).replacingOccurrences(of: "%i", with: instance)
            for (name, value) in env { w = w.replacingOccurrences(of: "${\(name)}", with: value) }
            XCTAssertFalse(w.contains("${"), "\(unit): \(w) names a variable the environment file lacks")
            return w
        }
        return try Command.parse(Array(words.dropFirst()), environment: env)
    }

    func testTheUnitsRunOneMachineWithTheExampleEnvironment() throws {
        let env = try environment(bus: false)
        guard case .gateway(let gateway) = try command("tagarela-gateway.service", environment: env),
              case .worker(let worker) = try command("tagarela-worker@.service", instance: "1", environment: env) else {
            return XCTFail("a gateway and a worker")
        }
        XCTAssertNil(gateway.bus)
        XCTAssertEqual(gateway.workers, 2, "TAGARELA_WORKERS")
        XCTAssertEqual(gateway.workerSocketPath(1), "/var/lib/tagarela/run/worker-1.sock")
        XCTAssertEqual(worker.socketPath, gateway.workerSocketPath(1))
        XCTAssertNil(worker.bus)
        XCTAssertEqual(worker.shard, 1)
        XCTAssertEqual(worker.workers, 2)
    }

    /// The gateway unit used to pass --workers, which a gateway under --bus refuses: no unit
    /// could run the bus mode.
    func testTheUnitsRunTheBusModeWhenTheEnvironmentFileNamesABus() throws {
        let env = try environment(bus: true)
        XCTAssertNotNil(env["TAGARELA_BUS"], "the example shows the bus settings")
        guard case .gateway(let gateway) = try command("tagarela-gateway.service", environment: env),
              case .worker(let worker) = try command("tagarela-worker@.service", instance: "1", environment: env) else {
            return XCTFail("a gateway and a worker")
        }
        XCTAssertEqual(gateway.bus?.subjects.cluster, env["TAGARELA_CLUSTER"])
        XCTAssertEqual(gateway.workers, 0, "the shard count is read from the bus at start")
        XCTAssertEqual(worker.bus?.subjects.cluster, env["TAGARELA_CLUSTER"])
        XCTAssertEqual(worker.shard, 1)
        XCTAssertEqual(worker.workers, 2, "the cluster's shard count")
    }

    /// The worker's sandbox has no network; the bus drop-in gives it TCP and nothing else.
    func testTheBusDropInOpensTheWorkersNetwork() throws {
        func sandbox(_ files: [String]) throws -> (privateNetwork: String?, families: Set<String>, denied: [String]) {
            var privateNetwork: String? = nil
            var families: Set<String> = []
            var denied: [String] = []
            for (key, value) in try assignments(files) {
                let words = value.split(separator: " ").map(String.init)
                switch key {
                case "PrivateNetwork": privateNetwork = value
                // An empty assignment resets a list; others add to it (systemd.exec(5)).
                case "RestrictAddressFamilies": families = value.isEmpty ? [] : families.union(words)
                case "IPAddressDeny": denied = value.isEmpty ? [] : denied + words
                default: break
                }
            }
            return (privateNetwork, families, denied)
        }
        let alone = try sandbox(["tagarela-worker@.service"])
        XCTAssertEqual(alone.privateNetwork, "yes")
        XCTAssertEqual(alone.families, ["AF_UNIX"])
        XCTAssertEqual(alone.denied, ["any"])
        let bus = try sandbox(["tagarela-worker@.service", "tagarela-worker-bus.conf"])
        XCTAssertEqual(bus.privateNetwork, "no")
        XCTAssertEqual(bus.families, ["AF_UNIX", "AF_INET", "AF_INET6"])
        XCTAssertEqual(bus.denied, [])
    }
}
