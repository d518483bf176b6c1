// PrivacyTests: an instance started under `umask 000` keeps its data and its worker sockets from every other local account.
import Foundation
import Glibc
import TagarelaLink
import TestSupport
import XCTest

/// Issue 8, section 4. The reproduction: under `umask 000` the data folder, the journal and the
/// worker's socket came out readable and writable by everyone, and another account connected to
/// the socket, claimed to be a user, and read her private chat with no token.
final class PrivacyTests: XCTestCase {
    private func mode(_ path: String) -> String {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "missing" }
        return String(info.st_mode & 0o7777, radix: 8)
    }

    /// A request frame as an intruder would write it: any user id it likes, no session.
    private func intrusion(chatID: String, claiming user: String) -> [UInt8] {
        let json = #"{"type":"get_messages","chat_id":"\#(chatID)","request_id":"x"}"#
        return LinkCodec.encoded(.request(LinkRequest(requestID: 1, connectionID: 1, userID: user, json: Array(json.utf8))))
    }

    func testAnotherAccountCanNeitherReadTheDataNorUseAWorkerSocket() throws {
        guard E2EForeignUser.canSwitchUser else { throw XCTSkip("acting as another account needs root") }
        let instance = try E2EInstance(workers: 2)
        defer { instance.stop() }
        instance.umask = "000"
        // What `mkdir data` makes under umask 000 (mkdtemp made it 0700).
        XCTAssertEqual(chmod(instance.dataDir, 0o777), 0)
        try instance.start()

        let ana = E2EUser("ana"), bia = E2EUser("bia")
        let client = try E2EChatClient(.ndjson, port: instance.port, label: "ana")
        defer { client.close() }
        try client.registerAndLogin(ana)
        let other = try E2EChatClient(.ndjson, port: instance.port, label: "bia")
        defer { other.close() }
        try other.registerAndLogin(bia)
        let chat = try client.ok("create_chat", [("user_id", .string(bia.name))])
        let chatID = try XCTUnwrap(chat["chat"]?["id"]?.string)
        try client.sendMessage(chatID, "the private thing")
        let shard = E2ESlots.worker(for: chatID, workers: 2)
        let data = instance.dataDir, run = instance.runDir
        let socket = run + "/worker-\(shard).sock"
        let journal = data + "/shard-\(shard)/journal-0.log"

        // Folders 0700, files 0600: the supervisor tightened the data folder it was given and
        // made everything else private, whatever the umask.
        XCTAssertEqual(mode(data), "700", "the data folder, tightened at start")
        XCTAssertTrue(instance.logTail(lines: 50).contains("tightened"), "the tightening is logged\n\(instance.logTail())")
        for folder in [run, data + "/shard-0", data + "/shard-1"] { XCTAssertEqual(mode(folder), "700", folder) }
        for file in [journal, data + "/layout.json", run + "/gateway.log", run + "/worker-0.log", run + "/supervisor.log",
                     run + "/gateway.pid", run + "/worker-0.pid", run + "/supervisor.pid", run + "/instance"] {
            XCTAssertEqual(mode(file), "600", file)
        }
        XCTAssertEqual(mode(socket), "600", socket)

        // Another account reads nothing and reaches no socket.
        XCTAssertEqual(E2EForeignUser.read(journal), .refused(errno: EACCES), "the journal")
        XCTAssertEqual(E2EForeignUser.read(data + "/layout.json"), .refused(errno: EACCES))
        XCTAssertEqual(E2EForeignUser.exchange(unixPath: socket, send: intrusion(chatID: chatID, claiming: ana.name)),
                       .refused(errno: EACCES), "the worker socket")

        // Even if an operator opens the folders and the socket up again, the worker serves only
        // its own account: the intruder's link is closed without a byte of answer, and logged.
        XCTAssertEqual(chmod(data, 0o755), 0)
        XCTAssertEqual(chmod(run, 0o755), 0)
        XCTAssertEqual(chmod(socket, 0o777), 0)
        XCTAssertEqual(E2EForeignUser.exchange(unixPath: socket, send: intrusion(chatID: chatID, claiming: ana.name)),
                       .got([]), "refused by SO_PEERCRED")
        XCTAssertTrue(E2EProcess.waitUntil(timeoutMs: 5000) {
            instance.logTail(lines: 50).contains("refused a link from uid \(E2EForeignUser.nobody.uid)")
        }, instance.logTail())

        // The gateway, the workers' own account, is still served.
        let page = try client.ok("get_messages", [("chat_id", .string(chatID))])
        XCTAssertEqual(page["messages"]?.array?.first?["content"]?.string, "the private thing")
    }
}
