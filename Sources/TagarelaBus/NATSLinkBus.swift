// NATSLinkBus: a NATSConnection as the link's bus, and the settings `--bus`/`--cluster` make.
import TagarelaEventLoop
import TagarelaNATS

/// `LinkBus` over a `NATSConnection` on the caller's loop.
public final class NATSLinkBus: LinkBus {
    public let connection: NATSConnection
    public var onStateChange: ((BusState) -> Void)?

    public init(loop: EventLoop, options: NATSOptions) {
        connection = NATSConnection(loop: loop, options: options)
        connection.onStateChange = { [weak self] state in
            switch state {
            case .connecting: self?.onStateChange?(.connecting)
            case .connected(let url): self?.onStateChange?(.connected(server: url))
            case .closed(let reason): self?.onStateChange?(.closed(reason: reason))
            }
        }
    }

    public var isConnected: Bool { connection.isConnected }
    public var queuedBytes: Int { connection.queuedBytes }
    public var maxPayload: Int { connection.maxPayloadBytes }
    public func start() { connection.start() }

    private var ids: [Int: NATSSubscriptionID] = [:]
    private var nextID = 0

    @discardableResult
    public func subscribe(_ subject: String, _ handler: @escaping (BusMessage) -> Void) -> Int {
        nextID += 1
        ids[nextID] = connection.subscribe(subject) { m in
            handler(BusMessage(subject: m.subject, reply: m.reply ?? "", headers: m.headers, payload: m.payload, status: m.status))
        }
        return nextID
    }

    public func unsubscribe(_ id: Int) {
        if let sid = ids.removeValue(forKey: id) { connection.unsubscribe(sid) }
    }

    @discardableResult
    public func publish(_ subject: String, reply: String, headers: [(String, String)], payload: [UInt8]) -> Bool {
        connection.publish(subject, reply: reply.isEmpty ? nil : reply, headers: headers, payload: payload)
    }

    public func close() { connection.close() }
}

extension BusSettings {
    /// What `--bus URLS --cluster NAME` (and the optional credentials) mean; throws the
    /// operator's message for a bad URL list (TLS URLs are refused: the client offers none).
    public static func nats(urls: String, cluster: String, token: String? = nil, user: String? = nil,
                            password: String? = nil) throws -> BusSettings {
        guard let subjects = BusSubjects(cluster: cluster) else {
            throw BusConfigError("--cluster '\(cluster)' must be 1 to 32 letters, digits, '-' or '_'")
        }
        let servers: [NATSServerURL]
        do {
            servers = try NATSServerURL.parseList(urls)
        } catch {
            throw BusConfigError("--bus: \(error.description)")
        }
        let shown = servers.map(\.description).joined(separator: ",")
        let base = NATSOptions(servers: servers, token: token, user: user, password: password)
        var settings = BusSettings(subjects: subjects, description: shown) { loop, name in
            var options = base
            options.name = name
            return NATSLinkBus(loop: loop, options: options)
        }
        settings.nats = base
        return settings
    }
}

/// A `--bus`/`--cluster` value the process cannot use; `description` is the operator's message.
public struct BusConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
