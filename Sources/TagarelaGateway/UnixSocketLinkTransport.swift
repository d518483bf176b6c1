// UnixSocketLinkTransport: the gateway-worker link over the worker's Unix socket, connected without blocking the loop.
import TagarelaEventLoop
import TagarelaLink
import TagarelaSystem

/// A link carried by the worker's Unix stream socket (`runDir/worker-K.sock`), registered on the
/// loop like any channel: frames are decoded in place from the loop's read buffer and written
/// with the loop's batched `writev`.
///
/// Connecting never waits. A worker that is absent (`ENOENT`, `ECONNREFUSED`) or whose backlog
/// is full (`EAGAIN`, where a blocking connect would hold the whole loop until the worker
/// accepts) fails the attempt at once, and `WorkerLink` tries again after its back-off. A
/// connect still in progress (`EINPROGRESS`, which Linux does not return for Unix sockets but
/// other kernels and carriers do) is registered at once: what is sent meanwhile waits in the
/// channel's queue, leaves when the socket turns writable, and a failed connect shows as an
/// error that closes the channel.
final class UnixSocketLinkTransport: LinkTransport, ChannelHandler {
    weak var delegate: LinkTransportDelegate?
    private let path: String
    private unowned let eventLoop: EventLoop
    private let frameBytesMax: Int
    private let queuedBytesMax: Int
    private let peerUID: UInt32
    private let log: (String) -> Void
    private var channel: Channel?
    private var decoder: LinkDecoder

    /// A transport to the socket at `path`: frames longer than `frameBytesMax` are refused
    /// (`Limits.linkFrameBytesMax`) and more than `queuedBytesMax` unsent bytes close the link
    /// (`Limits.linkQueuedBytesMax`); a socket whose listening process does not run as
    /// `peerUID` is refused (`GatewayConfig.workerPeerUID`) and logged.
    init(path: String, eventLoop: EventLoop, frameBytesMax: Int, queuedBytesMax: Int, peerUID: UInt32,
         log: @escaping (String) -> Void) {
        self.path = path
        self.eventLoop = eventLoop
        self.frameBytesMax = frameBytesMax
        self.queuedBytesMax = queuedBytesMax
        self.peerUID = peerUID
        self.log = log
        self.decoder = LinkDecoder(maxFrameBytes: frameBytesMax)
    }

    var isConnected: Bool { channel != nil }
    var queuedBytes: Int { channel?.queuedBytes ?? 0 }

    func connect() -> Bool {
        precondition(channel == nil, "connect on a connected transport")
        let fd: Int32
        do {
            fd = try Socket.connectUnixNonBlocking(path: path).fd
        } catch {
            return false
        }
        // The worker checks its peers (SO_PEERCRED); the gateway checks its worker the same way,
        // since what it sends carries passwords: a socket bound by another account is refused.
        let uid = (try? Socket.peerCredentials(fd))?.uid
        guard uid == peerUID else {
            FileDescriptor.close(fd)
            log("refused the worker socket \(path): its process runs as uid \(uid.map(String.init) ?? "unknown"), not \(peerUID)")
            return false
        }
        decoder = LinkDecoder(maxFrameBytes: frameBytesMax)
        let ch = eventLoop.register(fd: fd, handler: self, maxQueuedBytes: queuedBytesMax)
        channel = ch
        delegate?.transportConnected()
        return true
    }

    func send(_ frames: [UInt8]) {
        channel?.write(frames)
    }

    func flushPromptly() {
        channel?.flushPromptly()
    }

    func close() {
        channel?.close()
    }

    // MARK: - Channel events

    func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
        do {
            try decoder.feed(UnsafeRawBufferPointer(bytes)) { frame in delegate?.transportReceived(frame) }
        } catch {
            delegate?.transportRefusedInput("\(error)")
            channel.close()
        }
        delegate?.transportDeliveredBatch()
    }

    func channelWritable(_ channel: Channel) {
        delegate?.transportWritable()
    }

    func channelClosed(_ channel: Channel) {
        self.channel = nil
        delegate?.transportClosed()
    }
}
