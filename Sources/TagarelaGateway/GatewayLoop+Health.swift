// GatewayLoop+Health: what /healthz and /metrics learn from every loop: worker links' liveness and the loops' counters.
import TagarelaLink

extension GatewayLoop {
    /// The gateway's health, asked on this loop: pings this loop's link to every worker, and
    /// asks every other loop (on its own thread) whether its links are up. A worker is `down`
    /// when this loop's ping went unanswered in time or any loop's link to it is not up: a
    /// client on that loop would be answered `unavailable`, so the gateway is not healthy yet
    /// (`deploy/tagarela start` waits for this). `unresponsive` lists the workers whose link,
    /// on any loop, is connected but misses its heartbeat (stopped or stuck, for the supervisor
    /// to replace); an unresponsive link is down without waiting for a probe.
    func checkHealth(_ done: @escaping (_ down: [Int], _ unresponsive: [Int]) -> Void) {
        let others = gateway.loops.filter { $0 !== self }
        var remaining = links.count + others.count + 1
        var down = Set<Int>()
        var unresponsive = Set<Int>()
        func finish() {
            remaining -= 1
            guard remaining == 0 else { return }
            done(down.sorted(), unresponsive.sorted())
        }
        for link in links {
            if link.isUnresponsive {
                down.insert(link.worker)
                unresponsive.insert(link.worker)
                finish()
                continue
            }
            link.probe(timeoutMs: config.healthTimeoutMs) { ok in
                if !ok { down.insert(link.worker) }
                finish()
            }
        }
        for loop in others {
            loop.eventLoop.execute { [self] in
                let notUp = loop.links.filter { !$0.isUp }.map(\.worker)
                let stuck = loop.links.filter { $0.isConnected && $0.isUnresponsive }.map(\.worker)
                eventLoop.execute {
                    down.formUnion(notUp)
                    unresponsive.formUnion(stuck)
                    finish()
                }
            }
        }
        finish()
    }

    /// This loop's counters with the live gauges and the links' own counts filled in.
    func snapshotCounters() -> LoopCounters {
        var c = counters
        for link in links {
            c.workerLinkUp[link.worker] = link.isConnected ? 1 : 0
            c.workerLinkUnresponsive[link.worker] = link.isConnected && link.isUnresponsive ? 1 : 0
            c.workerInFlight[link.worker] = link.inFlight
            c.workerRequestTimeouts[link.worker] = link.stats.requestTimeouts
            c.linkSubscribes += link.stats.subscribes
            c.linkUnsubscribes += link.stats.unsubscribes
        }
        c.partialInputBytes = partialInput.totalBytes
        if let compression = compression { c.deflate = compression.counts }
        return c
    }

    /// Gathers every loop's counters and histograms (each on its own thread) and every worker's
    /// stats (over this loop's links, `LinkFrame.statsRequest`), and renders them, on this loop.
    /// A scrape that comes while one is being gathered joins it and gets the same text: a worker
    /// counts its shard in O(chats) per stats request and `/metrics` is open to whoever reaches
    /// the port, so the work per loop is one gathering at a time, however fast scrapes come.
    func gatherMetricsText(_ done: @escaping (String) -> Void) {
        metricsWaiters.append(done)
        guard metricsWaiters.count == 1 else { return }
        let loops = gateway.loops
        var total = LoopCounters(workers: config.workers)
        var histograms = LoopHistograms()
        var workerStats = [WorkerStats?](repeating: nil, count: links.count)
        var remaining = loops.count + links.count
        func finish() {
            remaining -= 1
            guard remaining == 0 else { return }
            let stats = (0..<self.config.workers).map { self.config.workerStats($0) }
            let text = MetricsRenderer.render(total, loops: loops.count,
                                              onlineUsers: self.gateway.presence.onlineUsers, workerStats: stats)
                + LatencyMetricsRenderer.render(histograms, stats: workerStats)
            let waiters = self.metricsWaiters
            self.metricsWaiters = []
            for waiter in waiters { waiter(text) }
        }
        for link in links {
            link.fetchStats(timeoutMs: config.healthTimeoutMs) { stats in
                workerStats[link.worker] = stats
                finish()
            }
        }
        for loop in loops {
            loop.eventLoop.execute { [self] in
                let c = loop.snapshotCounters()
                let h = loop.histograms
                eventLoop.execute {
                    total.add(c)
                    histograms.merge(h)
                    finish()
                }
            }
        }
    }
}
