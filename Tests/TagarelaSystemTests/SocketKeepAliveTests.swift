// SocketKeepAliveTests: keepalive settings reach the kernel as asked.
import Glibc
import TagarelaSystem
import XCTest

final class SocketKeepAliveTests: XCTestCase {
    private func option(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32 {
        var value: Int32 = -1
        var size = socklen_t(MemoryLayout<Int32>.size)
        XCTAssertEqual(getsockopt(fd, level, name, &value, &size), 0)
        return value
    }

    func testKeepAliveIsSetWithTheGivenTimes() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(option(fd, SOL_SOCKET, SO_KEEPALIVE), 0)
        try Socket.setKeepAlive(fd, idleSeconds: 60, intervalSeconds: 10, probes: 6)
        XCTAssertEqual(option(fd, SOL_SOCKET, SO_KEEPALIVE), 1)
        XCTAssertEqual(option(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE), 60)
        XCTAssertEqual(option(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL), 10)
        XCTAssertEqual(option(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT), 6)
    }
}
