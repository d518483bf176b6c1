// ConnectionHost: everything a client connection may ask of the loop that owns it, and nothing more.
import TagarelaSystem
import TagarelaLink
import TagarelaWire

/// The loop as a client connection sees it (`GatewayLoop` is the one host). A connection
/// reaches its loop only through these: settings, counters, the session actions that touch
/// other connections or the worker links, its own end, and the two HTTP endpoints that need
/// every loop.
protocol ConnectionHost: AnyObject {
    // MARK: Settings and counters

    /// The gateway's settings (read when a connection starts a phase, not per message).
    var config: GatewayConfig { get }
    var limits: Limits { get }
    var sessionSettings: SessionSettings { get }
    var flushRepliesPromptly: Bool { get }
    var nowMs: Int64 { get }
    var counters: LoopCounters { get set }
    var histograms: LoopHistograms { get set }
    var logWriter: LogWriter { get }
    var slowRequestNs: Int64 { get }
    var loopIndex: Int { get }
    /// The loop's permessage-deflate state (nil: compression off or zlib missing).
    var compression: LoopCompression? { get }

    // MARK: Session actions that reach past the connection

    func linkState(_ shard: Int) -> LinkState
    /// Sends `request` to worker `shard`'s link; the answer goes to `conn`'s session with `tag`.
    func forward(_ request: LinkRequest, toShard shard: Int, from conn: ClientConnection, tag: ReplyTag)
    /// Tells `conn` once worker `shard`'s link drains.
    func park(_ conn: ClientConnection, onShard shard: Int)
    func bind(_ conn: ClientConnection, userID: String, replacing: String)
    func unbind(_ conn: ClientConnection, userID: String)
    func endSessions(userID: String, sessionID: String, except connectionID: UInt64, reason: String)
    func presence(_ userIDs: [String]) -> [Bool]
    func takeGroupQuota(_ userID: String) -> Int64?
    func takeAttachmentQuota(_ userID: String, bytes: Int) -> Int64?

    // MARK: The connection's own bounds and end

    /// `conn` now holds `conn.partialBytes` of unfinished input (the loop's budget may close holders).
    func partialInputChanged(_ conn: ClientConnection)
    /// Called once, from `channelClosed`.
    func connectionClosed(_ conn: ClientConnection)

    // MARK: Endpoints over every loop

    func checkHealth(_ done: @escaping (_ down: [Int], _ unresponsive: [Int]) -> Void)
    func gatherMetricsText(_ done: @escaping (String) -> Void)
}
