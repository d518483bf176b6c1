// GatewayLoop+Health: what /healthz and /metrics learn from every loop: worker links' liveness and the loops' counters.
import TagarelaLink

extension GatewayLoop {
    /// Asks every loop (each on its own thread) to check its own links, and reports, on this
    /// loop, the workers some loop could not reach (`down`) and those some loop found connected
    /// but missing their heartbeat (`unresponsive`). Every loop, not only the one that took the
    /// request: a client's connection lands on any of them, so 200 (what the supervisor's
    /// `start` and a load balancer wait for) means every connection can be served, and a loop
    /// still reconnecting after a worker's restart keeps it 503. A loop that has not answered
    /// within twice `healthTimeoutMs` (its own probes take at most one) is stuck: nothing on it
    /// is served, so every worker counts as down, and the answer does not wait for it.
    func checkHealth(_ done: @escaping (_ down: [Int], _ unresponsive: [Int]) -> Void) {
        let loops = gateway.loops
        var remaining = loops.count
        var down = Set<Int>()
        var unresponsive = Set<Int>()
        var answered = false
        func answer() {
            guard !answered else { return }
            answered = true
            done(down.sorted(), unresponsive.sorted())
        }
        for loop in loops {
            loop.eventLoop.execute { [self] in
                loop.checkOwnLinks { loopDown, loopUnresponsive in
                    self.eventLoop.execute {
                        down.formUnion(loopDown)
                        unresponsive.formUnion(loopUnresponsive)
                        remaining -= 1
                        if remaining == 0 { answer() }
                    }
                }
            }
        }
        let workers = links.map(\.worker)
        eventLoop.schedule(afterMs: 2 * config.healthTimeoutMs) {
            guard !answered else { return }
            down.formUnion(workers)
            answer()
        }
    }

    /// Pings every worker link of this loop and reports the workers that did not answer in time
    /// (`down`), and among them those whose link is connected but misses its heartbeat
    /// (`unresponsive`: stopped or stuck, for the supervisor to replace). An unresponsive link is
    /// down without waiting for a probe.
    func checkOwnLinks(_ done: @escaping (_ down: [Int], _ unresponsive: [Int]) -> Void) {
        var remaining = links.count + 1
        var down: [Int] = []
        let links = self.links
        func finish() {
            remaining -= 1
            guard remaining == 0 else { return }
            done(down.sorted(), links.filter(\.isUnresponsive).map(\.worker))
        }
        for link in links {
            if link.isUnresponsive {
                down.append(link.worker)
                finish()
                continue
            }
            link.probe(timeoutMs: config.healthTimeoutMs) { ok in
                if !ok { down.append(link.worker) }
                finish()
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
