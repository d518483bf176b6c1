// BusLoopHub: one gateway loop's bus connection, shared by its links to every shard: the loop's inbox, and the bus's ups and downs.
import TagarelaBus
import TagarelaEventLoop

/// The bus side of one gateway loop (README.md "Several hosts"): one connection on the loop's
/// thread, subscribed to the loop's inbox `C.gw.G.L.*`; each message is handed to the link of
/// the shard named by its last token. When the connection drops, every link closes (its
/// requests in flight are answered `unavailable`) and reconnects through its own back-off once
/// the bus is back, sending its whole subscription set again like a fresh Unix link.
final class BusLoopHub {
    let bus: LinkBus
    let subjects: BusSubjects
    let inbox: String
    private unowned let eventLoop: EventLoop
    private var transports: [Int: NATSLinkTransport] = [:]
    private let log: (String) -> Void
    private let loopIndex: Int

    init(settings: BusSettings, gatewayID: String, loopIndex: Int, eventLoop: EventLoop, log: @escaping (String) -> Void) {
        self.subjects = settings.subjects
        self.inbox = settings.subjects.loopInbox(gateway: gatewayID, loop: loopIndex)
        self.eventLoop = eventLoop
        self.log = log
        self.loopIndex = loopIndex
        self.bus = settings.connect(eventLoop, "tagarela-gateway-\(gatewayID)-\(loopIndex)")
    }

    /// Subscribes the inbox and starts connecting (on the loop's thread).
    func start() {
        bus.onStateChange = { [weak self] state in self?.stateChanged(state) }
        bus.subscribe(inbox + ".*") { [weak self] message in self?.received(message) }
        bus.start()
    }

    func add(_ transport: NATSLinkTransport) {
        transports[transport.shard] = transport
    }

    /// Closes every link whose worker has been silent too long (see `NATSLinkTransport.checkSilence`).
    func tick(nowMs: Int64) {
        for transport in transports.values { transport.checkSilence(nowMs: nowMs) }
    }

    func stop() {
        bus.close()
    }

    private var wasConnected = false

    private func stateChanged(_ state: BusState) {
        defer { if case .connected = state { wasConnected = true } }
        switch state {
        case .connected(let server):
            log("loop \(loopIndex): bus connected (\(server))")
        case .connecting:
            if wasConnected { log("loop \(loopIndex): bus connection lost; reconnecting") }
            for transport in transports.values { transport.busDown() }
        case .closed(let reason):
            log("loop \(loopIndex): bus connection closed (\(reason))")
            for transport in transports.values { transport.busDown() }
        }
    }

    private func received(_ message: BusMessage) {
        guard let shard = BusSubjects.shard(ofReply: message.subject, inbox: inbox), let transport = transports[shard] else { return }
        transport.received(message)
    }
}
