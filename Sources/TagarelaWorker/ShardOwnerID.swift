// ShardOwnerID: the worker's identity in its shard's lease, stable for its data folder so a restarted worker takes its own lease back at once.
import Foundation
import TagarelaCrypto
import TagarelaSystem

/// `DATA/bus-owner-K`: the host name and 16 random hex digits, made on the first start under a
/// bus and read on every later one. Another folder (another host, or a copy started by mistake)
/// has another id, so it cannot pass for the owner: it waits for the lease or refuses.
enum ShardOwnerID {
    static func path(dataDirectory: String, shard: Int) -> String { dataDirectory + "/bus-owner-\(shard)" }

    static func load(dataDirectory: String, shard: Int) throws -> String {
        let path = path(dataDirectory: dataDirectory, shard: shard)
        if let bytes = try FileIO.readFile(path) {
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { return text }
        }
        let host = ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
        let id = "\(host.isEmpty ? "host" : host)/\(hexString(SecureRandom.bytes(count: 8)))"
        try FileTree.replaceDurably(path, with: Array((id + "\n").utf8), temporary: path + ".tmp")
        return id
    }
}
