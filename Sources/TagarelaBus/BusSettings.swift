// BusSettings: how a process reaches the bus: its cluster's names and a way to open one connection per event loop.
import TagarelaEventLoop
import TagarelaNATS

/// What `--bus` and `--cluster` turn into (`tagarela gateway|worker`). Processes open one bus
/// connection per event loop, on that loop, with `connect`: the command line's opens a NATS
/// connection to the server list; tests pass an in-process bus.
public struct BusSettings {
    public var subjects: BusSubjects
    /// Opens (without starting) a connection on `loop`, named `name` for the server's monitoring.
    public var connect: (_ loop: EventLoop, _ name: String) -> LinkBus
    /// Where the connection goes, for logs and `status` (server URLs without credentials).
    public var description: String
    /// The NATS connection's options when the bus is NATS (startup checks, layout and leases
    /// use a connection of their own); nil for an in-process bus.
    public var nats: NATSOptions?

    public init(subjects: BusSubjects, description: String, connect: @escaping (EventLoop, String) -> LinkBus) {
        self.subjects = subjects
        self.description = description
        self.connect = connect
    }
}
