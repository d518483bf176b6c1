// FakeNATSServer: a listening socket a test drives by hand, to script what a NATS server says.
import Foundation
import Glibc
import TagarelaSystem
import TestSupport

/// A listening socket the test thread drives by hand: accept, send, read (all bounded).
final class FakeNATSServer {
    let listenFD: Int32
    let port: Int
    var client: Int32 = -1

    init() throws {
        listenFD = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: false)
        port = try Socket.boundPort(listenFD)
    }

    deinit {
        if client >= 0 { FileDescriptor.close(client) }
        FileDescriptor.close(listenFD)
    }

    func accept(timeoutMs: Int = 5000) throws {
        let ok = E2EProcess.waitUntil(timeoutMs: timeoutMs) {
            if let (fd, _) = (try? Socket.accept(self.listenFD)) ?? nil { self.client = fd; return true }
            return false
        }
        if !ok { throw E2EError.timedOut("accept") }
    }

    func send(_ text: String) throws { try FileDescriptor.writeAll(client, Array(text.utf8)) }

    /// Reads until `marker` arrived (or fails after `timeoutMs`); returns what was read.
    func read(until marker: String, timeoutMs: Int = 5000) throws -> String {
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let ok = E2EProcess.waitUntil(timeoutMs: timeoutMs) {
            let r = buffer.withUnsafeMutableBytes { try? FileDescriptor.read(self.client, into: $0) }
            if case .bytes(let n)? = r { got += buffer[0..<n] }
            return String(decoding: got, as: UTF8.self).contains(marker)
        }
        if !ok { throw E2EError.timedOut("\(marker) in \(String(decoding: got, as: UTF8.self).prefix(200))") }
        return String(decoding: got, as: UTF8.self)
    }

    /// True when the client closed the accepted connection (end of file) within `timeoutMs`;
    /// what it sent meanwhile is read and dropped.
    func waitForClose(timeoutMs: Int) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        return E2EProcess.waitUntil(timeoutMs: timeoutMs) {
            let r = buffer.withUnsafeMutableBytes { try? FileDescriptor.read(self.client, into: $0) }
            return r == .eof
        }
    }

    /// Forgets the accepted connection (closing our end), so `accept` can take the next one.
    func dropClient() {
        if client >= 0 { FileDescriptor.close(client) }
        client = -1
    }

    /// INFO, then CONNECT+PING read and PONG sent: the client counts as connected.
    func handshake(info: String = "{\"server_id\":\"fake\",\"max_payload\":1048576}") throws {
        try accept()
        try send("INFO \(info)\r\n")
        _ = try read(until: "PING\r\n")
        try send("PONG\r\n")
    }
}
