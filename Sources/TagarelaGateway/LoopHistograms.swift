// LoopHistograms: the latency histograms each gateway loop keeps (request duration by type, delivery queueing) and how deliveries are timed cheaply.
import TagarelaLink
import TagarelaModel
import TagarelaSystem

/// One loop's histograms, touched only on its thread; `/metrics` merges a copy from every loop
/// (as it sums `LoopCounters`). Fixed arrays: an observation allocates nothing.
public struct LoopHistograms: Sendable {
    /// Request duration by `RequestType.index`: from the request's last byte read to its answer
    /// queued on the connection (a worker's round trip included; the write itself is the
    /// delivery histogram's business and the flush delay's).
    public var requestNs = [Histogram](repeating: Histogram(bounds: HistogramBuckets.latencyNs),
                                       count: RequestType.allCases.count)
    /// Delivery queueing: from the link frame that brought an event to this loop to the write
    /// that emptied the receiving connection's output queue (see `DeliveryClock`).
    public var deliveryNs = Histogram(bounds: HistogramBuckets.latencyNs)

    public init() {}

    /// Adds `other`'s observations.
    public mutating func merge(_ other: LoopHistograms) {
        for i in 0..<requestNs.count { requestNs[i].merge(other.requestNs[i]) }
        deliveryNs.merge(other.deliveryNs)
    }
}

/// Times deliveries per connection and loop turn, not per event copy: the first event queued
/// on a connection since its queue last emptied stamps it (one clock read per link frame, not
/// per receiver), later ones only add to its count; after each flush phase the loop observes,
/// for every stamped connection whose queue is now empty, "now - stamp" once per delivery it
/// held. A delivery that joined a queue already waiting is counted with the oldest one's wait:
/// an upper bound, which is what an operator wants of a queueing figure. Cost: one entry per
/// connection with pending deliveries per turn, and one clock read per turn that has any.
struct DeliveryClock {
    /// Connections holding deliveries not yet written.
    private(set) var waiting: [ClientConnection] = []

    /// `conn` just got `copies` event copies queued; `stampNs` is when their link frame came.
    mutating func queued(_ conn: ClientConnection, stampNs: Int64) {
        if conn.deliveryStampNs == 0 {
            conn.deliveryStampNs = stampNs
            waiting.append(conn)
        }
        conn.deliveriesWaiting &+= 1
    }

    /// After a flush phase: observes the deliveries of every connection whose queue emptied.
    mutating func flushed(into histogram: inout Histogram) {
        guard !waiting.isEmpty else { return }
        let nowNs = Clock.monotonicNs()
        var kept = 0
        for index in 0..<waiting.count {
            let conn = waiting[index]
            if conn.isClosed || conn.channel.queuedBytes == 0 {
                if !conn.isClosed { histogram.observe(nowNs - conn.deliveryStampNs, times: conn.deliveriesWaiting) }
                conn.deliveryStampNs = 0
                conn.deliveriesWaiting = 0
            } else {
                waiting[kept] = conn
                kept += 1
            }
        }
        waiting.removeLast(waiting.count - kept)
    }
}
