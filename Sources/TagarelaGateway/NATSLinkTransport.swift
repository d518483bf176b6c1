// NATSLinkTransport: the gateway-worker link carried by the bus: frames to the shard's subject, answers on the loop's inbox.
import TagarelaBus
import TagarelaEventLoop
import TagarelaLink

/// A link to shard K's worker over the bus (PROTOCOL.md 3.8). Frames keep their meaning; each
/// message published to `C.shard.K` carries the loop's reply subject `C.gw.G.L.K`, which is how
/// the worker tells this loop from every other loop of every gateway.
///
/// "Connected" means a worker answered: `connect` publishes a ping with nonce 0 (`WorkerLink`'s
/// own nonces start at 1) and the link is up when the first message of the worker arrives; the
/// worker takes that ping as the start of a fresh link and forgets the loop's old
/// subscriptions, and `WorkerLink` then sends the whole set. Every message of the worker names
/// its incarnation (`Tg-Epoch`): a new one means a restarted worker, which knows none of our
/// subscriptions, so the link closes and reconnects. A worker silent for longer than the
/// heartbeat timeout (it answers a ping every `workerHeartbeatIntervalMs`) is down: the link
/// closes and its shard answers `unavailable` at once until a worker answers again.
final class NATSLinkTransport: LinkTransport {
    weak var delegate: LinkTransportDelegate?
    let shard: Int
    private unowned let hub: BusLoopHub
    private unowned let eventLoop: EventLoop
    private let frameBytesMax: Int
    private let silenceMs: Int64
    private let subject: String
    private let replySubject: String
    private enum State { case down, probing(UInt64), up(epoch: String) }
    private var state = State.down
    private var attempt: UInt64 = 0
    private var lastHeardMs: Int64 = 0
    private var joiner: BusFraming.Joiner

    /// A link to `shard` through `hub`: frames longer than `frameBytesMax` are refused
    /// (`Limits.linkFrameBytesMax`); a worker silent for `silenceMs`
    /// (`Limits.workerHeartbeatTimeoutMs`) is down.
    init(shard: Int, hub: BusLoopHub, eventLoop: EventLoop, frameBytesMax: Int, silenceMs: Int64) {
        self.shard = shard
        self.hub = hub
        self.eventLoop = eventLoop
        self.frameBytesMax = frameBytesMax
        self.silenceMs = silenceMs
        self.subject = hub.subjects.shard(shard)
        self.replySubject = hub.subjects.reply(inbox: hub.inbox, shard: shard)
        self.joiner = BusFraming.Joiner(bytesMax: frameBytesMax)
        hub.add(self)
    }

    var address: String { subject }

    var isConnected: Bool {
        if case .up = state { return true }
        return false
    }

    var queuedBytes: Int { hub.bus.queuedBytes }

    func connect() -> Bool {
        guard hub.bus.isConnected else { return false }
        attempt &+= 1
        let current = attempt
        state = .probing(current)
        publish(LinkCodec.encoded(.ping(0)))
        // No worker answers (none owns the shard yet, or it is down): try again after the back-off.
        eventLoop.schedule(afterMs: silenceMs) { [weak self] in
            guard let self, case .probing(let a) = self.state, a == current else { return }
            self.state = .down
            self.delegate?.transportClosed()
        }
        return true
    }

    func send(_ frames: [UInt8]) {
        guard isConnected else { return }
        publish(frames)
    }

    private func publish(_ frames: [UInt8]) {
        for message in BusFraming.split(frames, maxPayload: hub.bus.maxPayload) {
            hub.bus.publish(subject, reply: replySubject,
                            headers: message.part.map { [(BusFraming.partHeader, $0)] } ?? [], payload: message.payload)
        }
    }

    /// Output leaves with the connection's own flush at the end of the loop's turn.
    func flushPromptly() {}

    func close() {
        guard !isDown else { return }
        state = .down
        // At the loop's next safe point, as the protocol promises: never from inside the caller.
        eventLoop.execute { [weak self] in self?.delegate?.transportClosed() }
    }

    private var isDown: Bool {
        if case .down = state { return true }
        return false
    }

    // MARK: - From the hub

    func busDown() {
        guard !isDown else { return }
        state = .down
        delegate?.transportClosed()
    }

    func checkSilence(nowMs: Int64) {
        guard isConnected, nowMs - lastHeardMs > silenceMs else { return }
        state = .down
        delegate?.transportClosed()
    }

    func received(_ message: BusMessage) {
        if message.status != nil {
            // The server's "no responders" (503): no worker subscribes to the shard's subject,
            // so the shard is down now; we need not wait for the silence to say so.
            if !isDown {
                state = .down
                delegate?.transportClosed()
            }
            return
        }
        let epoch = message.header(BusFraming.epochHeader) ?? ""
        switch state {
        case .down:
            return
        case .probing:
            state = .up(epoch: epoch)
            lastHeardMs = eventLoop.nowMs
            joiner = BusFraming.Joiner(bytesMax: frameBytesMax)
            delegate?.transportConnected()
        case .up(let current):
            lastHeardMs = eventLoop.nowMs
            if current != epoch {
                // A restarted worker: it knows none of this loop's subscriptions, so the link
                // starts afresh. `close` makes it down from here on, so nothing that this
                // message's frames set off (a held request released, a session check) is sent
                // to the new worker on a link about to close, where its answer would be dropped;
                // the delegate hears of the close at the loop's next safe point. What this
                // message carries is still the new owner's word (typically the answer to a
                // request sent after the restart): it is delivered below, instead of that
                // request being answered `unavailable` with the rest.
                close()
                joiner = BusFraming.Joiner(bytesMax: frameBytesMax)
            }
        }
        guard let bytes = joiner.accept(message.payload, part: message.header(BusFraming.partHeader)) else { return }
        // Each message holds whole frames (parts were joined above): decoded on its own.
        var decoder = LinkDecoder(maxFrameBytes: frameBytesMax)
        var refusal: String? = nil
        do {
            try decoder.feed(bytes) { frame in delegate?.transportReceived(frame) }
        } catch {
            refusal = "\(error)"
        }
        if refusal == nil && decoder.bufferedBytes > 0 { refusal = "a bus message ended inside a link frame" }
        if let refusal {
            delegate?.transportRefusedInput(refusal)
            close()
        }
        delegate?.transportDeliveredBatch()
    }
}
