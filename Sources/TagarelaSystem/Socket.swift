// Socket: TCP (IPv4) and Unix stream sockets: listen, connect, accept and the per-socket options the servers set.
import Glibc

/// Socket set-up calls. Every descriptor returned is `O_CLOEXEC`, so worker processes
/// started by the supervisor never inherit a client's connection.
public enum Socket {
    /// A non-blocking listening TCP socket on `host:port` (port 0 picks a free port; see `boundPort`).
    ///
    /// `SO_REUSEADDR` lets a restarted gateway bind while old connections sit in TIME_WAIT;
    /// `reusePort` sets `SO_REUSEPORT` so each event loop can own a listener on the same port
    /// and the kernel spreads new connections across them.
    public static func listenTCP(host: String, port: Int, backlog: Int32 = 4096, reusePort: Bool) throws -> Int32 {
        var address = try ipv4Address(host: host, port: port)
        let fd = try retryingEINTR("socket(AF_INET)") {
            socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
            if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)") }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if bound != 0 { throw SystemError(op: "bind(\(host):\(port))") }
            if listen(fd, backlog) != 0 { throw SystemError(op: "listen(\(host):\(port))") }
            return fd
        } catch {
            FileDescriptor.close(fd)
            throw error
        }
    }

    /// The local port of a bound TCP socket (how tests learn the port picked for port 0).
    public static func boundPort(_ fd: Int32) throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        if result != 0 { throw SystemError(op: "getsockname") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A non-blocking TCP connection to `host:port` (IPv4 literal). The connect may still be in
    /// progress (`EINPROGRESS`); the socket turns writable once it completes, or reports an error.
    public static func connectTCP(host: String, port: Int) throws -> Int32 {
        var address = try ipv4Address(host: host, port: port)
        let fd = try retryingEINTR("socket(AF_INET)") {
            socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        // EINTR on a non-blocking connect means the attempt goes on asynchronously, like EINPROGRESS.
        if result != 0 && errno != EINPROGRESS && errno != EINTR {
            let error = SystemError(op: "connect(\(host):\(port))")
            FileDescriptor.close(fd)
            throw error
        }
        return fd
    }

    /// A non-blocking listening Unix stream socket at `path` with permissions `mode` (0600:
    /// only this account may connect), whatever the umask. A stale socket file left by a
    /// crashed process is unlinked first (the supervisor owns the run directory, so nothing
    /// else lives at that path).
    public static func listenUnix(path: String, backlog: Int32 = 1024, mode: mode_t = 0o600) throws -> Int32 {
        var address = try unixAddress(path: path)
        if unlink(path) != 0 && errno != ENOENT { throw SystemError(op: "unlink(\(path))") }
        let fd = try retryingEINTR("socket(AF_UNIX)") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if bound != 0 { throw SystemError(op: "bind(\(path))") }
            // bind creates the file as 0777 minus the umask (0777 under `umask 000`). Until
            // `listen` nobody can connect (ECONNREFUSED), so setting the mode here leaves no window.
            if chmod(path, mode) != 0 { throw SystemError(op: "chmod(\(path))") }
            if listen(fd, backlog) != 0 { throw SystemError(op: "listen(\(path))") }
            return fd
        } catch {
            FileDescriptor.close(fd)
            throw error
        }
    }

    /// The process, user and group of the peer of a connected Unix socket, as the kernel
    /// recorded them at `connect` (`SO_PEERCRED`): unlike anything the peer sends, it cannot lie.
    public static func peerCredentials(_ fd: Int32) throws -> PeerCredentials {
        // `struct ucred` is `{ pid_t pid; uid_t uid; gid_t gid; }` (three 32-bit fields on every
        // Linux architecture); Glibc declares it only under _GNU_SOURCE, which Swift's module lacks.
        var fields: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: fields))
        if getsockopt(fd, SOL_SOCKET, LinuxCalls.SO_PEERCRED, &fields, &length) != 0 {
            throw SystemError(op: "getsockopt(SO_PEERCRED)")
        }
        guard length == socklen_t(MemoryLayout.size(ofValue: fields)) else {
            throw SystemError(op: "getsockopt(SO_PEERCRED)", errno: EINVAL)
        }
        return PeerCredentials(pid: fields.0, uid: fields.1, gid: fields.2)
    }

    /// A connected, non-blocking Unix stream socket to `path`. The connect itself is made
    /// blocking, so a full backlog waits instead of failing with `EAGAIN`: for callers that may
    /// wait (tests, tools); an event loop uses `connectUnixNonBlocking`.
    public static func connectUnix(path: String) throws -> Int32 {
        let (fd, code) = try startConnectUnix(path: path, nonBlocking: false)
        if code != 0 {
            FileDescriptor.close(fd)
            throw SystemError(op: "connect(\(path))", errno: code)
        }
        do {
            try FileDescriptor.setNonBlocking(fd)
        } catch {
            FileDescriptor.close(fd)
            throw error
        }
        return fd
    }

    /// Where a non-blocking connect stands when `connectUnixNonBlocking` returns.
    public enum ConnectState: Sendable, Equatable {
        /// Connected: the listener took it into its backlog at once (the usual local case).
        case connected
        /// Still connecting (`EINPROGRESS`): the socket turns writable when done, and a failure
        /// shows as an error on it.
        case inProgress
    }

    /// A non-blocking Unix stream socket to `path`, connected without ever waiting, so an event
    /// loop can call it. A listener whose backlog is full throws `EAGAIN` (where a blocking
    /// connect would wait for the peer to accept), an absent one `ENOENT` or `ECONNREFUSED`:
    /// the caller tries again later.
    public static func connectUnixNonBlocking(path: String) throws -> (fd: Int32, state: ConnectState) {
        let (fd, code) = try startConnectUnix(path: path, nonBlocking: true)
        switch code {
        case 0: return (fd, .connected)
        // EINTR: the connect goes on without us, exactly as EINPROGRESS (connect(2)).
        case EINPROGRESS, EINTR: return (fd, .inProgress)
        default:
            FileDescriptor.close(fd)
            throw SystemError(op: "connect(\(path))", errno: code)
        }
    }

    /// A fresh Unix stream socket and the errno of its `connect` to `path` (0 when connected).
    private static func startConnectUnix(path: String, nonBlocking: Bool) throws -> (fd: Int32, errno: Int32) {
        var address = try unixAddress(path: path)
        let flags = SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | (nonBlocking ? SOCK_NONBLOCK.rawValue : 0)
        let fd = try retryingEINTR("socket(AF_UNIX)") { socket(AF_UNIX, Int32(flags), 0) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return (fd, result == 0 ? 0 : errno)
    }

    /// Accepts one connection as a non-blocking, close-on-exec socket, with the peer's address
    /// as text (`"203.0.113.7"`, `"::1"`, or `"unix"`). Nil when no connection is waiting.
    /// `ECONNABORTED` (the peer gave up while queued) also returns nil: there is nothing to serve.
    public static func accept(_ fd: Int32) throws -> (fd: Int32, peer: String)? {
        var storage = sockaddr_storage()
        while true {
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    LinuxCalls.accept4(fd, $0, &length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
                }
            }
            if client >= 0 { return (client, peerText(&storage)) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK || code == ECONNABORTED { return nil }
            throw SystemError(op: "accept4", errno: code)
        }
    }

    /// Disables Nagle's algorithm: the loop already coalesces a turn's writes into one writev,
    /// so delaying small segments would only add latency.
    public static func setNoDelay(_ fd: Int32) throws {
        try setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
    }

    /// Turns on TCP keepalive: after `idleSeconds` of silence the kernel probes the peer every
    /// `intervalSeconds`, and gives the connection up after `probes` unanswered probes (so a peer
    /// that vanished without a FIN is noticed even on a protocol that has no ping of its own).
    public static func setKeepAlive(_ fd: Int32, idleSeconds: Int32, intervalSeconds: Int32, probes: Int32) throws {
        try setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "setsockopt(SO_KEEPALIVE)")
        try setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, idleSeconds, "setsockopt(TCP_KEEPIDLE)")
        try setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, intervalSeconds, "setsockopt(TCP_KEEPINTVL)")
        try setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, probes, "setsockopt(TCP_KEEPCNT)")
    }

    /// Sets the kernel send and/or receive buffer sizes (`SO_SNDBUF`, `SO_RCVBUF`); nil leaves one as is.
    public static func setBuffers(_ fd: Int32, send: Int? = nil, receive: Int? = nil) throws {
        if let send { try setOption(fd, SOL_SOCKET, SO_SNDBUF, Int32(clamping: send), "setsockopt(SO_SNDBUF)") }
        if let receive { try setOption(fd, SOL_SOCKET, SO_RCVBUF, Int32(clamping: receive), "setsockopt(SO_RCVBUF)") }
    }

    /// Shuts down the write side (sends FIN) while keeping the socket open for reading.
    public static func shutdownWrite(_ fd: Int32) throws {
        if shutdown(fd, Int32(SHUT_WR)) != 0 { throw SystemError(op: "shutdown(SHUT_WR)") }
    }

    /// The pending socket error (`SO_ERROR`), 0 when none: how a failed non-blocking connect is read.
    public static func pendingError(_ fd: Int32) throws -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) != 0 { throw SystemError(op: "getsockopt(SO_ERROR)") }
        return value
    }

    /// Sends one datagram to the Unix datagram socket at `path` from a fresh unbound socket; a
    /// path starting with `@` names an abstract socket (Linux), as systemd's `NOTIFY_SOCKET` may.
    public static func sendDatagram(_ bytes: [UInt8], toUnixPath path: String) throws {
        let target = try unixAddress(path: path, abstractAllowed: true)
        var address = target.address
        let length = target.length
        let fd = try retryingEINTR("socket(AF_UNIX, SOCK_DGRAM)") {
            socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        defer { FileDescriptor.close(fd) }
        let sent = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, length) }
            }
        }
        if sent < 0 { throw SystemError(op: "sendto(\(path))") }
    }

    // MARK: - Helpers

    private static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ op: String) throws {
        var value = value
        if setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw SystemError(op: op)
        }
    }

    private static func ipv4Address(host: String, port: Int) throws -> sockaddr_in {
        guard (0...65535).contains(port) else { throw SystemError(op: "address(\(host):\(port))", errno: EINVAL) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        let text = host == "localhost" ? "127.0.0.1" : host
        if inet_pton(AF_INET, text, &address.sin_addr) != 1 {
            throw SystemError(op: "inet_pton(\(host))", errno: EINVAL)
        }
        return address
    }

    private static func unixAddress(path: String) throws -> sockaddr_un {
        try unixAddress(path: path, abstractAllowed: false).address
    }

    /// The address of `path` and its exact length. With `abstractAllowed`, a leading `@` names
    /// an abstract socket (as systemd's NOTIFY_SOCKET does): a NUL first, exactly its bytes long.
    private static func unixAddress(path: String, abstractAllowed: Bool) throws -> (address: sockaddr_un, length: socklen_t) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = abstractAllowed && bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A path needs its terminating NUL inside sun_path (108 bytes on Linux).
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw SystemError(op: "unix address(\(path))", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let length = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1)
        return (address, socklen_t(length))
    }

    /// A NUL-terminated C buffer's text (what `inet_ntop` wrote), as UTF-8.
    private static func textUpToNul(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func peerText(_ storage: inout sockaddr_storage) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    guard inet_ntop(AF_INET, &addr, &text, socklen_t(text.count)) != nil else { return "" }
                    return textUpToNul(text)
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    guard inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count)) != nil else { return "" }
                    return textUpToNul(text)
                }
            }
        case AF_UNIX:
            return "unix"
        default:
            return ""
        }
    }
}

/// Who is at the other end of a Unix socket (`Socket.peerCredentials`).
public struct PeerCredentials: Equatable, Sendable {
    /// The peer's process id at connect time.
    public var pid: pid_t
    /// The peer's effective user id at connect time.
    public var uid: uid_t
    /// The peer's effective group id at connect time.
    public var gid: gid_t

    /// Creates credentials (tests).
    public init(pid: pid_t, uid: uid_t, gid: gid_t) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}
