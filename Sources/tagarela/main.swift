// The tagarela executable: turns the command line into a configuration (Commands) and hands over to library code.
import Foundation
import TagarelaBench
import TagarelaBus
import TagarelaGateway
import TagarelaWorker

func log(_ line: String) {
    FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch try Command.parse(arguments, environment: ProcessInfo.processInfo.environment) {
    case .gateway(let config): try Gateway.run(config)
    case .worker(let config): try Worker.run(config)
    case .reshardRecover(let data, let workers): try Resharding.recover(dataDirectory: data, workers: workers, log: log)
    case .reshard(let data, let to): try Resharding.run(dataDirectory: data, to: to, log: log)
    case .bench(let rest): exit(Bench.main(rest))
    case .layout(let bus):
        // Exit 3 when the cluster has no layout yet (deploy/tagarela then needs --total-shards).
        guard let layout = try ClusterLayout.read(bus) else { exit(3) }
        print(layout.shards)
    case .help: print(Command.usage)
    }
} catch let error as WorkerError {
    log("tagarela \(arguments.first ?? ""): \(error)")
    exit(error.exitStatus)
} catch let error as UsageError {
    log("tagarela: \(error.description)\n\(Command.usage)")
    exit(2)
} catch {
    log("tagarela \(arguments.first ?? ""): \(error)")
    exit(1)
}
