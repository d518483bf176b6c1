// UnixSocketPrivacyTests: a listening Unix socket is 0600 whatever the umask, and SO_PEERCRED names the connecting process.
import Glibc
import TagarelaSystem
import TestSupport
import XCTest

final class UnixSocketPrivacyTests: XCTestCase {
    func testListeningSocketIsOwnerOnlyUnderUmaskZero() throws {
        let path = loopbackTemporaryPath("private.sock")
        defer { unlink(path) }
        // Issue 8: under `umask 000` the worker's socket came out 0777, open to every account.
        let saved = umask(0)
        defer { umask(saved) }
        let listener = try Socket.listenUnix(path: path)
        defer { FileDescriptor.close(listener) }
        var info = stat()
        XCTAssertEqual(lstat(path, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(String(info.st_mode & 0o7777, radix: 8), "600")
    }


    func testPeerCredentialsNameTheConnectingProcess() throws {
        let path = loopbackTemporaryPath("peercred.sock")
        defer { unlink(path) }
        let listener = try Socket.listenUnix(path: path)
        defer { FileDescriptor.close(listener) }
        let client = try LoopbackClient(unixPath: path)
        defer { client.close() }
        XCTAssertTrue(LoopbackClient.poll(listener, events: Int16(POLLIN), timeoutMs: 5000))
        let (server, _) = try XCTUnwrap(Socket.accept(listener))
        defer { FileDescriptor.close(server) }
        let peer = try Socket.peerCredentials(server)
        XCTAssertEqual(peer.uid, geteuid())
        XCTAssertEqual(peer.gid, getegid())
        XCTAssertEqual(peer.pid, getpid())
    }

}
