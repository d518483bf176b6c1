// SourceAddress: non-blocking TCP connects to 127.0.0.1 from a chosen loopback source address (127.0.0.k).
import Glibc
import TagarelaSystem

/// Connects from `127.0.0.k` so that tens of thousands of connections fit under the gateway's
/// per-IP connection limit (`Limits.connectionsPerIPMax`, 10,000) and each source address gets
/// its own range of ephemeral ports. The whole 127.0.0.0/8 block is loopback, so nothing leaves
/// the machine and the destination is always 127.0.0.1.
enum SourceAddress {
    /// Linux `IP_BIND_ADDRESS_NO_PORT` (include/uapi/linux/in.h): the port is chosen at connect
    /// time from the full 4-tuple, so binding the address does not use up ports early.
    private static let ipBindAddressNoPort: Int32 = 24

    /// The source address for connection `index` when `count` source addresses are in use:
    /// 127.0.0.1 ... 127.0.0.count, dealt round robin.
    static func address(forIndex index: Int, count: Int) -> UInt32 {
        let k = UInt32(index % max(1, count)) + 1
        return (127 << 24) | k
    }

    /// Dotted form of a host-order IPv4 address.
    static func dotted(_ address: UInt32) -> String {
        "\(address >> 24).\((address >> 16) & 255).\((address >> 8) & 255).\(address & 255)"
    }

    /// Starts a non-blocking connect from `source` (host order) to 127.0.0.1:`port`.
    static func connect(from source: UInt32, port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(op: "socket(AF_INET)") }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_IP), ipBindAddressNoPort, &one, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = 0
        local.sin_addr.s_addr = source.bigEndian
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound != 0 {
            let error = SystemError(op: "bind(\(dotted(source)))")
            close(fd)
            throw error
        }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = UInt16(port).bigEndian
        remote.sin_addr.s_addr = ((UInt32(127) << 24) | 1).bigEndian
        let result = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 && errno != EINPROGRESS && errno != EINTR {
            let error = SystemError(op: "connect(127.0.0.1:\(port)) from \(dotted(source))")
            close(fd)
            throw error
        }
        return fd
    }
}
