// WorkerConfig: the settings of one worker process, with the defaults the command line falls back to.
import Glibc
import TagarelaEventLoop
import TagarelaBus
import TagarelaModel
import TagarelaStore
import TagarelaSystem

/// Everything `tagarela worker` needs to serve one shard.
public struct WorkerConfig {
    /// This worker's shard number, 0..<workers.
    public var shard: Int
    /// How many workers the data is partitioned for (slot -> worker = slot % workers).
    public var workers: Int
    /// The instance's data folder; this worker's store is `dataDirectory/shard-K`.
    public var dataDirectory: String
    /// The Unix socket the gateway's links connect to.
    public var socketPath: String
    /// When journal writes reach the disk (see ShardStore).
    public var fsync: FsyncPolicy = .always
    /// `--log-format` (issue 13): today's text lines, or JSON lines with events and fields.
    public var logFormat: LogFormat = .text
    /// The log format type, named for callers that do not import TagarelaSystem (the executable).
    public typealias LogFormatType = LogFormat
    /// PBKDF2 iterations for new password hashes. 100,000 keeps an offline guess at about
    /// 0.1 s of one core per try while a login still costs well under that on a worker's pool.
    public var pbkdf2Iterations: Int = 100_000
    /// Journal size that triggers compaction into a new snapshot. 64 MiB bounds recovery time
    /// (replaying 64 MiB takes about a second) without snapshotting often under load.
    public var compactJournalBytes: Int = 64 << 20
    /// Password hashes (PBKDF2) that run at once, off the event loop, so a burst of logins
    /// never stalls it: the cap on the hasher's concurrency (and so on the cores logins take).
    public var hashThreads: Int = 2
    /// Password hashes allowed to wait for the pool. At 100,000 iterations a hash costs about
    /// 40 ms of a core, so 256 queued ones are five seconds of work for two threads: past that,
    /// `register` and `login` answer `rate_limited` rather than queue without bound.
    public var hashJobsMax: Int = 256
    /// One attachment's decoded bytes (`too_large` past it): at most the protocol's 512 KiB
    /// (`FieldLimits.attachmentBytesMax`, from which the request and response bounds are
    /// computed); an operator may lower it to save disk (`--attachment-bytes-max`).
    public var attachmentBytesMax: Int = FieldLimits.attachmentBytesMax
    /// The highest `attachmentBytesMax` allowed: the protocol's ceiling.
    public static let attachmentBytesCeiling = FieldLimits.attachmentBytesMax
    /// Largest link frame accepted from the gateway: a client message is at most 1 MiB,
    /// plus the frame's own fields.
    public var maxLinkFrameBytes: Int = (1 << 20) + 64 * 1024
    /// Largest response the worker sends. By construction no request can produce more
    /// (`OutputBounds.responseBytesMax`, about 5.6 MB: a get_messages page of 200 maximum-size
    /// messages); a response past it would be a bug, and is answered `too_large` instead of
    /// being sent (PROTOCOL.md 3.6).
    public var responseBytesMax: Int = OutputBounds.responseBytesMax
    /// Largest link frame body the worker sends: must not exceed the gateway's
    /// `Limits.linkFrameBytesMax`, which drops the link on a longer frame. 8 MiB holds the
    /// largest response (5.6 MB) and the reply's own fields (under 200 bytes); events that would
    /// push a reply past it follow in `events` frames (`LinkCodec.encodeBounded`).
    public var replyFrameBytesMax: Int = 8 << 20
    /// A link whose unsent replies pass this is not read until it drains, so a gateway that
    /// stops reading cannot make the worker buffer without bound.
    public var maxLinkQueuedBytes: Int = 64 << 20
    /// A link whose unsent replies pass this is closed (the gateway answers its requests in
    /// flight `unavailable` and reconnects). Reading stopped at `maxLinkQueuedBytes`, so what
    /// can still add to the queue is the replies to requests read before, and events; twice
    /// the pause mark leaves room for those while a gateway that reads nothing is cut off.
    public var linkQueueCloseBytes: Int = 128 << 20

    /// The only user id whose processes may use the socket (checked with `SO_PEERCRED` at
    /// accept): the gateway runs as the same account. The socket's mode (0600) and its 0700
    /// folder already keep others out; this check holds even when an operator loosens those.
    public var allowedPeerUID: uid_t = geteuid()

    /// Output coalescing on the worker's links (`--flush-delay-ms`, 0 = every turn): after a
    /// group commit, a link's replies and events may wait for the next turns' while more requests
    /// are already ready (`EventLoop.FlushPolicy.whenIdle`), so a busy worker sends fewer, larger
    /// writes, but never longer than this. 5 ms, the gateway's bound: an idle worker
    /// writes in the turn of the commit, and a busy one adds at most what the gateway may add.
    public var flushDelayMs: Int64 = 5
    /// `--flush-policy idle|fixed` (see `EventLoop.FlushPolicy`).
    public var flushPolicy: EventLoop.FlushPolicy = .whenIdle

    /// systemd's watchdog, when the unit asks for one (`WatchdogSec=`); nil otherwise.
    public var watchdog: SystemdWatchdog? = nil

    /// The bus carrying the links (`--bus`, `--cluster`); nil: the Unix socket only.
    public var bus: BusSettings? = nil
    /// Gateway loops linked at once over the bus. Each is a gateway thread of the cluster (a
    /// gateway has one per core), so 1024 is far above any real cluster; it bounds what a
    /// broken or hostile publisher on the bus can make the worker keep (a link and its
    /// subscriptions per reply subject). Past it, new loops are refused and logged.
    public var busPeersMax: Int = 1024
    /// This worker's id in its shard's lease (`ShardOwnerID`), set by `Worker.run` once the lease
    /// is taken; nil serves at once (an in-process bus in tests has no leases).
    public var busOwnerID: String? = nil
    /// A gateway loop silent this long over the bus is gone and its subscriptions are dropped.
    /// Gateways ping each link every second (`Limits.workerHeartbeatIntervalMs`) and give a
    /// worker 5 s (`workerHeartbeatTimeoutMs`); 15 s outlasts a bus reconnection (a few
    /// seconds) so a live loop is not dropped, and a dead gateway's users stop counting as
    /// online within it.
    public var busPeerSilenceMs: Int64 = 15_000

    public init(shard: Int, workers: Int, dataDirectory: String, socketPath: String) {
        self.shard = shard
        self.workers = workers
        self.dataDirectory = dataDirectory
        self.socketPath = socketPath
    }

    /// This shard's store folder.
    public var storeDirectory: String { dataDirectory + "/shard-\(shard)" }
}
