// LocalBus: an in-process bus with NATS's subject matching and max_payload, for tests of the bus carrier without a server.
import Foundation
import TagarelaBus
import TagarelaEventLoop

/// The shared "server": subscriptions of every connection, and a switch to take it away.
final class LocalBusBroker: @unchecked Sendable {
    private let lock = NSLock()
    private var subscriptions: [(id: Int, pattern: [Substring], bus: LocalBus, handler: (BusMessage) -> Void)] = []
    private var connections: [LocalBus] = []
    private var nextID = 0
    private var up = true
    let maxPayload: Int
    /// Publishes refused because they exceeded `maxPayload` (a test expects none).
    private(set) var oversize = 0
    /// While set, each message it returns true for is held (in order) instead of delivered,
    /// until `releaseHeld`: a test holds one link's frames to force an ordering.
    private var holdFilter: ((BusMessage) -> Bool)?
    private var held: [BusMessage] = []

    init(maxPayload: Int = 1 << 20) { self.maxPayload = maxPayload }

    func connect(loop: EventLoop) -> LocalBus {
        let bus = LocalBus(broker: self, loop: loop)
        lock.lock(); connections.append(bus); lock.unlock()
        return bus
    }

    /// Takes the server away (every connection hears `.connecting`) or brings it back.
    func setUp(_ value: Bool) {
        lock.lock()
        up = value
        let all = connections
        lock.unlock()
        for bus in all { bus.loop.execute { bus.setState(value ? .connected(server: "local") : .connecting) } }
    }

    var isUp: Bool { lock.lock(); defer { lock.unlock() }; return up }

    func subscribe(_ subject: String, bus: LocalBus, _ handler: @escaping (BusMessage) -> Void) -> Int {
        lock.lock(); defer { lock.unlock() }
        nextID += 1
        subscriptions.append((nextID, subject.split(separator: ".", omittingEmptySubsequences: false), bus, handler))
        return nextID
    }

    func unsubscribe(_ id: Int) {
        lock.lock(); subscriptions.removeAll { $0.id == id }; lock.unlock()
    }

    /// How many subscriptions a message to `subject` would reach now.
    func subscriberCount(_ subject: String) -> Int {
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        lock.lock(); defer { lock.unlock() }
        return subscriptions.filter { LocalBusBroker.matches($0.pattern, tokens) }.count
    }

    func remove(_ bus: LocalBus) {
        lock.lock()
        subscriptions.removeAll { $0.bus === bus }
        connections.removeAll { $0 === bus }
        lock.unlock()
    }

    func publish(_ message: BusMessage) -> Bool {
        let size = message.payload.count + message.headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 }
        lock.lock()
        guard up else { lock.unlock(); return false }
        guard size <= maxPayload else { oversize += 1; lock.unlock(); return false }
        if let hold = holdFilter, hold(message) {
            held.append(message)
            lock.unlock()
            return true
        }
        deliverLocked(message)
        lock.unlock()
        return true
    }

    /// Holds every message `filter` returns true for (it sees them in publishing order, under
    /// the broker's lock) until `releaseHeld`.
    func hold(_ filter: @escaping (BusMessage) -> Bool) {
        lock.lock(); holdFilter = filter; lock.unlock()
    }

    /// Delivers what was held, in order, before any message published after, and from then
    /// on holds what `next` returns true for (nothing when nil).
    func releaseHeld(thenHold next: ((BusMessage) -> Bool)? = nil) {
        lock.lock()
        holdFilter = next
        let messages = held
        held = []
        for message in messages { deliverLocked(message) }
        lock.unlock()
    }

    /// How many messages are held now.
    var heldCount: Int { lock.lock(); defer { lock.unlock() }; return held.count }

    /// Hands `message` to every matching subscription's loop (the caller holds `lock`, so
    /// deliveries keep the order of the calls).
    private func deliverLocked(_ message: BusMessage) {
        let tokens = message.subject.split(separator: ".", omittingEmptySubsequences: false)
        for target in subscriptions where LocalBusBroker.matches(target.pattern, tokens) {
            let handler = target.handler
            target.bus.loop.execute { if target.bus.isConnected { handler(message) } }
        }
    }

    static func matches(_ pattern: [Substring], _ tokens: [Substring]) -> Bool {
        for (i, p) in pattern.enumerated() {
            if p == ">" { return tokens.count > i }
            guard i < tokens.count, p == "*" || p == tokens[i] else { return false }
        }
        return pattern.count == tokens.count
    }
}

/// One connection, confined to its loop like NATSConnection.
final class LocalBus: LinkBus {
    let broker: LocalBusBroker
    unowned let loop: EventLoop
    var onStateChange: ((BusState) -> Void)?
    private(set) var isConnected = false
    private var closed = false

    init(broker: LocalBusBroker, loop: EventLoop) {
        self.broker = broker
        self.loop = loop
    }

    var queuedBytes: Int { 0 }
    var maxPayload: Int { broker.maxPayload }

    func start() {
        loop.execute { [self] in if broker.isUp { setState(.connected(server: "local")) } }
    }

    func setState(_ state: BusState) {
        guard !closed else { return }
        if case .connected = state { isConnected = true } else { isConnected = false }
        onStateChange?(state)
    }

    func subscribe(_ subject: String, _ handler: @escaping (BusMessage) -> Void) -> Int {
        broker.subscribe(subject, bus: self, handler)
    }

    func unsubscribe(_ id: Int) { broker.unsubscribe(id) }

    func publish(_ subject: String, reply: String, headers: [(String, String)], payload: [UInt8]) -> Bool {
        guard isConnected else { return false }
        return broker.publish(BusMessage(subject: subject, reply: reply, headers: headers, payload: payload))
    }

    func close() {
        closed = true
        isConnected = false
        broker.remove(self)
    }
}
