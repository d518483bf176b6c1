// StoreTestHelpers: small shared helpers for the store tests (records, file bytes, loading).
import Foundation
import XCTest
@testable import TagarelaStore

func record(_ i: Int) -> [UInt8] { Array("record-\(i)-\(String(repeating: "x", count: i % 7))".utf8) }

func strings(_ records: [[UInt8]]) -> [String] { records.map { String(decoding: $0, as: UTF8.self) } }

func fileBytes(_ path: String) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
}

/// Writes a file as the store would have made it (0600), so only what a test means to damage differs.
func writeBytes(_ bytes: [UInt8], _ path: String) {
    precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes),
                                                attributes: [.posixPermissions: 0o600]), "cannot write \(path)")
}

func fileExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

func directoryNames(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// A toy engine state for crash tests: the snapshot is its entries joined by newlines.
func snapshotBytes(_ entries: [String]) -> [UInt8] { Array(entries.joined(separator: "\n").utf8) }

func entries(snapshot: [UInt8]?, records: [[UInt8]]) -> [String] {
    var result: [String] = []
    if let snapshot, !snapshot.isEmpty {
        result = String(decoding: snapshot, as: UTF8.self).split(separator: "\n").map(String.init)
    }
    return result + strings(records)
}

/// Opens, reads and closes a store; the state a restarted worker would see.
func loadEntries(_ directory: String, log: (String) -> Void = { _ in }) throws -> [String] {
    let opened = try ShardStore.open(directory: directory, policy: .always, log: log)
    opened.store.close()
    return entries(snapshot: opened.snapshot, records: opened.records)
}
