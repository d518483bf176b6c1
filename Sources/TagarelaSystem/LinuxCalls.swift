// LinuxCalls: epoll, eventfd, accept4 and pthread_setname_np entry points and constants (and SO_PEERCRED), which the Swift Glibc module does not import.
import Glibc

// Why dlsym: the toolchain's SwiftGlibc.h includes neither <sys/epoll.h> nor <sys/eventfd.h>,
// it declares accept4 and pthread_setname_np only under _GNU_SOURCE, and the package has no C shim target (no dependencies, fixed Package.swift). Resolving the
// libc symbols once and calling them through `@convention(c)` pointers is well-defined C
// interop, unlike `@_silgen_name`, which would assume the Swift calling convention.
enum LinuxCalls {
    typealias EpollCreate1 = @convention(c) (Int32) -> Int32
    typealias EpollCtl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias EpollWait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    typealias EventFDCreate = @convention(c) (UInt32, Int32) -> Int32
    typealias Accept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32
    typealias PthreadSetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32

    static let epollCreate1: EpollCreate1 = resolve("epoll_create1")
    static let epollCtl: EpollCtl = resolve("epoll_ctl")
    static let epollWait: EpollWait = resolve("epoll_wait")
    static let eventfd: EventFDCreate = resolve("eventfd")
    static let accept4: Accept4 = resolve("accept4")
    static let pthreadSetName: PthreadSetName = resolve("pthread_setname_np")

    private static func resolve<F>(_ name: String) -> F {
        // RTLD_DEFAULT is the null handle in glibc: search the global symbol scope (libc is always there).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else {
            preconditionFailure("libc symbol \(name) not found")
        }
        return unsafeBitCast(symbol, to: F.self)
    }

    // <asm/socket.h>: SO_PEERCRED is 17 in the generic table (x86_64, arm64, riscv64...) and 21
    // on powerpc; the Swift Glibc module does not import it.
    #if arch(powerpc64) || arch(powerpc64le)
    static let SO_PEERCRED: Int32 = 21
    #else
    static let SO_PEERCRED: Int32 = 17
    #endif

    // <sys/epoll.h> values (identical on every Linux architecture).
    static let EPOLL_CTL_ADD: Int32 = 1
    static let EPOLL_CTL_DEL: Int32 = 2
    static let EPOLL_CTL_MOD: Int32 = 3
    static let EPOLL_CLOEXEC: Int32 = O_CLOEXEC
    // <sys/eventfd.h>: EFD_NONBLOCK and EFD_CLOEXEC are defined as O_NONBLOCK and O_CLOEXEC.
    static let EFD_NONBLOCK: Int32 = O_NONBLOCK
    static let EFD_CLOEXEC: Int32 = O_CLOEXEC

    /// `struct epoll_event` is `{ uint32_t events; epoll_data_t data; }`, packed on x86_64
    /// (12 bytes) and naturally aligned elsewhere (16 bytes); `data` follows `events`.
    #if arch(x86_64)
    static let epollEventStride = 12
    static let epollEventDataOffset = 4
    #else
    static let epollEventStride = 16
    static let epollEventDataOffset = 8
    #endif
}
