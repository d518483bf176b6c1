// LoopRunner: an EventLoop on its own thread for a test, and the handler and listener the loop tests drive.
import Foundation
import TagarelaEventLoop
import TagarelaSystem
import TestSupport
import XCTest

/// An `EventLoop` on its own thread (see `LoopThread` for `sync`, `waitUntil` and `stop`).
final class LoopRunner: LoopThread {
    /// The output bound of the tests' channels (`EventLoop.register` asks each owner for one):
    /// far above what a test writes, unless the test sets a smaller one to pass it.
    static let queuedBytesMax = 8 << 20

    let loop: EventLoop

    init() throws {
        let loop = try EventLoop()
        self.loop = loop
        super.init(run: loop.run, stop: loop.stop, execute: { loop.execute($0) })
    }
}

/// A handler whose callbacks are closures, counting what happened (read these on the loop thread).
final class TestHandler: ChannelHandler {
    var onRead: (Channel, UnsafeMutableRawBufferPointer) -> Void
    var onClosed: (Channel) -> Void = { _ in }
    var onWritable: (Channel) -> Void = { _ in }
    private(set) var received: [UInt8] = []
    private(set) var closedCount = 0
    private(set) var writableCount = 0

    init(onRead: @escaping (Channel, UnsafeMutableRawBufferPointer) -> Void = { _, _ in }) {
        self.onRead = onRead
    }

    func channelRead(_ channel: Channel, _ bytes: UnsafeMutableRawBufferPointer) {
        received.append(contentsOf: bytes)
        onRead(channel, bytes)
    }

    func channelClosed(_ channel: Channel) {
        closedCount += 1
        onClosed(channel)
    }

    func channelWritable(_ channel: Channel) {
        writableCount += 1
        onWritable(channel)
    }
}

/// A TCP listener on 127.0.0.1 whose accepted connections are registered with `makeHandler`'s
/// handlers; `channels` holds them in accept order (touch it on the loop thread).
final class TestServer {
    let runner: LoopRunner
    let listenFD: Int32
    let port: Int
    var channels: [Channel] = []
    var handlers: [TestHandler] = []

    init(runner: LoopRunner, makeHandler: @escaping () -> TestHandler) throws {
        self.runner = runner
        listenFD = try Socket.listenTCP(host: "127.0.0.1", port: 0, reusePort: false)
        port = try Socket.boundPort(listenFD)
        let loop = runner.loop
        let fd = listenFD
        runner.sync {
            loop.addListener(fd: fd) { [unowned self] clientFD, _ in
                let handler = makeHandler()
                self.handlers.append(handler)
                self.channels.append(loop.register(fd: clientFD, handler: handler, maxQueuedBytes: LoopRunner.queuedBytesMax))
            }
        }
    }

    /// Waits until `count` connections were accepted, then returns them (and their handlers).
    func accepted(_ count: Int) -> [(Channel, TestHandler)] {
        guard runner.waitUntil({ self.channels.count >= count }) else { return [] }
        return runner.sync { Array(zip(self.channels, self.handlers)) } ?? []
    }

    /// Stops accepting and closes the listening socket.
    func close() {
        let loop = runner.loop
        let fd = listenFD
        runner.sync { loop.removeListener(fd: fd) }
        FileDescriptor.close(listenFD)
    }
}

/// A loop, a `TestServer` on it, and clients whose connections it accepted: the start of most
/// channel tests. `stop` closes the server and stops the loop (call it in `defer`).
struct LoopWithClients {
    let runner: LoopRunner
    let server: TestServer
    /// The clients, in the order they connected.
    let clients: [LoopbackClient]
    /// The accepted channels and their handlers, in the same order as `clients`.
    let channels: [Channel]
    let handlers: [TestHandler]

    var loop: EventLoop { runner.loop }

    func stop() {
        server.close()
        runner.stop()
    }
}

/// A loop set up by `configure` (run on its thread), a `TestServer` on it whose connections get
/// `makeHandler`'s handlers, and `count` clients, once all are accepted. Nil (the wait has failed
/// the test, and the server and loop are stopped) when they are not.
func loopWithClients(_ count: Int = 1, configure: @escaping (EventLoop) -> Void = { _ in },
                     makeHandler: @escaping () -> TestHandler = { TestHandler() }) throws -> LoopWithClients? {
    let runner = try LoopRunner()
    var server: TestServer?
    var handedOver = false
    defer { if !handedOver { server?.close(); runner.stop() } }
    let loop = runner.loop
    runner.sync { configure(loop) }
    let listening = try TestServer(runner: runner, makeHandler: makeHandler)
    server = listening
    let clients = try (0..<count).map { _ in try LoopbackClient(port: listening.port) }
    let accepted = listening.accepted(count)
    guard accepted.count == count else { return nil }
    handedOver = true
    return LoopWithClients(runner: runner, server: listening, clients: clients,
                           channels: accepted.map(\.0), handlers: accepted.map(\.1))
}

/// `loopWithClients` with one client, as the single-connection tests take it apart.
func loopWithOneClient(configure: @escaping (EventLoop) -> Void) throws
    -> (LoopRunner, TestServer, LoopbackClient, Channel)?
{
    try loopWithClients(configure: configure).map { ($0.runner, $0.server, $0.clients[0], $0.channels[0]) }
}
