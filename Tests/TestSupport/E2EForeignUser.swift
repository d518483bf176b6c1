// E2EForeignUser: runs one probe (read a file, talk to a Unix socket) as another user id, in a forked child, bounded in time.
import Glibc
import TagarelaSystem

/// What another account got when it tried.
public enum E2EForeignOutcome: Equatable {
    /// `open` or `connect` failed with this errno (EACCES: the permissions kept it out).
    case refused(errno: Int32)
    /// It got in; these bytes came back (a file's first bytes, or what the socket answered
    /// before it closed or went quiet).
    case got([UInt8])
    /// The probe could not run at all (for example setuid failed); the text says why.
    case failed(String)
}

extension E2EForeignOutcome: CustomStringConvertible {
    /// Short enough for a failure message: what came back is shown as text, cut at 120 bytes.
    public var description: String {
        switch self {
        case .refused(let code): return "refused(errno \(code))"
        case .got(let bytes):
            let text = String(decoding: bytes.prefix(120).map { $0 < 0x20 ? UInt8(ascii: ".") : $0 }, as: UTF8.self)
            return "got \(bytes.count) bytes: \(text)"
        case .failed(let why): return "failed: \(why)"
        }
    }
}

/// Probes as another account: the test process (root) forks, and the child drops to `uid`/`gid`
/// with no supplementary groups before it touches anything, like a login of that account would.
///
/// The child calls only system calls on memory prepared before the fork (no allocation, no
/// locks: the test process has other threads, whose locks a forked child must not wait on),
/// reports through a pipe, and is SIGKILLed if it outlives the deadline.
public enum E2EForeignUser {
    /// `nobody` on Debian: an account that owns nothing of ours.
    public static let nobody: (uid: uid_t, gid: gid_t) = (65534, 65534)

    /// True when this process may become another user (it must be root).
    public static var canSwitchUser: Bool { geteuid() == 0 }

    /// Opens `path` read-only as `uid` and reads up to 64 bytes.
    public static func read(_ path: String, uid: uid_t = nobody.uid, gid: gid_t = nobody.gid) -> E2EForeignOutcome {
        probe(path: path, socket: false, send: [], uid: uid, gid: gid, timeoutMs: 5000)
    }

    /// Connects to the Unix socket at `path` as `uid`, sends `bytes`, and returns what comes back
    /// until the peer closes or `quietMs` pass without more (at most 64 KiB).
    public static func exchange(unixPath path: String, send bytes: [UInt8], quietMs: Int32 = 2000,
                                uid: uid_t = nobody.uid, gid: gid_t = nobody.gid) -> E2EForeignOutcome {
        probe(path: path, socket: true, send: bytes, uid: uid, gid: gid, timeoutMs: Int(quietMs) + 5000, quietMs: quietMs)
    }

    private static let replyCapacity = 64 * 1024

    private static func probe(path: String, socket: Bool, send: [UInt8], uid: uid_t, gid: gid_t,
                              timeoutMs: Int, quietMs: Int32 = 0) -> E2EForeignOutcome {
        guard canSwitchUser else { return .failed("not root: cannot act as uid \(uid)") }
        // Everything the child needs, allocated now.
        let cPath = strdup(path)!
        defer { free(cPath) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return .failed("path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let request = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, send.count), alignment: 8)
        defer { request.deallocate() }
        request.copyBytes(from: send)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: replyCapacity, alignment: 8)
        defer { reply.deallocate() }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return .failed("pipe: errno \(errno)") }
        let (readEnd, writeEnd) = (fds[0], fds[1])

        let pid = withUnsafePointer(to: &address) { addressPointer -> pid_t in
            let child = fork()
            if child == 0 {
                close(readEnd)
                runChild(report: writeEnd, uid: uid, gid: gid, path: cPath, socket: socket,
                         address: UnsafeRawPointer(addressPointer), request: UnsafeRawBufferPointer(rebasing: request[0..<send.count]),
                         reply: reply, quietMs: quietMs)
            }
            return child
        }
        close(writeEnd)
        defer { close(readEnd) }
        guard pid > 0 else { return .failed("fork: errno \(errno)") }

        // Read the report until the child closes the pipe (it exits) or the deadline passes.
        var report: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Clock.monotonicMs() + Int64(timeoutMs)
        var timedOut = false
        while true {
            let left = deadline - Clock.monotonicMs()
            if left <= 0 { timedOut = true; break }
            var pfd = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(left)) <= 0 { continue }
            let n = chunk.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
            if n > 0 { report += chunk[0..<n] } else if n == 0 || errno != EINTR { break }
        }
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut { return .failed("the probe outlived \(timeoutMs) ms") }
        guard report.count >= 5 else { return .failed("the probe reported nothing (status \(status))") }
        let code = report[1...4].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
        switch report[0] {
        case 0: return .got(Array(report[5...]))
        case 1: return .refused(errno: code)
        default: return .failed("could not become uid \(uid): errno \(code)")
        }
    }

    /// The child: only system calls on prepared memory, then `_exit`. Reports one byte of kind
    /// (0 got, 1 refused, 2 setup failed), a 4-byte errno, then what was read.
    private static func runChild(report: Int32, uid: uid_t, gid: gid_t, path: UnsafePointer<CChar>, socket isSocket: Bool,
                                 address: UnsafeRawPointer, request: UnsafeRawBufferPointer,
                                 reply: UnsafeMutableRawBufferPointer, quietMs: Int32) -> Never {
        func finish(_ kind: UInt8, _ code: Int32, _ count: Int) -> Never {
            var header: (UInt8, Int32) = (kind, code)
            withUnsafeBytes(of: &header.0) { _ = Glibc.write(report, $0.baseAddress, 1) }
            withUnsafeBytes(of: &header.1) { _ = Glibc.write(report, $0.baseAddress, 4) }
            var offset = 0
            while offset < count {
                let n = Glibc.write(report, reply.baseAddress! + offset, count - offset)
                if n <= 0 { break }
                offset += n
            }
            _exit(0)
        }
        // Groups first, then the group, then the user: after setuid nothing else may be changed.
        if setgroups(0, nil) != 0 || setgid(gid) != 0 || setuid(uid) != 0 { finish(2, errno, 0) }
        let fd: Int32
        if isSocket {
            fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            if fd < 0 { finish(2, errno, 0) }
            if connect(fd, address.assumingMemoryBound(to: sockaddr.self), socklen_t(MemoryLayout<sockaddr_un>.size)) != 0 {
                finish(1, errno, 0)
            }
            var offset = 0
            while offset < request.count {
                // MSG_NOSIGNAL: a worker that refused the link may have closed it already, and
                // SIGPIPE would kill the probe before it reports (seen: "status 13").
                let n = Glibc.send(fd, request.baseAddress! + offset, request.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { break }  // the peer closed on us: what it said (nothing) is the answer
                offset += n
            }
        } else {
            fd = open(path, O_RDONLY)
            if fd < 0 { finish(1, errno, 0) }
        }
        var count = 0
        while count < reply.count {
            if isSocket {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&pfd, 1, quietMs) <= 0 { break }
            }
            let n = Glibc.read(fd, reply.baseAddress! + count, isSocket ? reply.count - count : min(64, reply.count - count))
            if n <= 0 { break }
            count += n
            if !isSocket { break }
        }
        finish(0, 0, count)
    }
}
