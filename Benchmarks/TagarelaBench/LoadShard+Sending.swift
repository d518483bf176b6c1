// LoadShard+Sending: the message schedule: open loop at a fixed rate per user, or closed loop with a window.
import TagarelaEventLoop

extension LoadShard {
    /// Sends scheduled in one timer tick at most, so a stalled loop catches up in bounded steps
    /// (the stamps stay on schedule, so the delay still shows in the latencies).
    static let maxSendsPerTick = 20_000
    /// Scheduling tick: the loop's timers have millisecond resolution.
    static let tickMs: Int64 = 1

    /// Starts sending from every ready user with a chat until `endUs`.
    ///
    /// Open loop (`window == 0`): user k of n sends its messages at `start + (j * n + k) / (n * rate)`,
    /// so the shard's sends are spread evenly and each user sends exactly `rate` per second, whether
    /// or not the server keeps up. Each message's `content` starts with `t=<intended send time µs>`,
    /// so a late send (the bench itself lagging) is charged to the latency instead of hidden
    /// (no coordinated omission). Closed loop: each user keeps `window` messages unanswered and
    /// sends the next one when a response arrives; the stamp is then the actual send time.
    func startSending(rate: Double, window: Int, measureStartUs: Int64, endUs: Int64) {
        stopSending()
        senders = clients.filter { $0.state == .ready && !$0.chatID.isEmpty }
        self.measureStartUs = measureStartUs
        sendEndUs = endUs
        sendStartUs = LoadShard.nowUs()
        sendsScheduled = 0
        closedLoop = window > 0
        let prefix = 2 + 16 + 1     // "t=" + up to 16 digits + " "
        padding = [UInt8](repeating: UInt8(ascii: "x"), count: max(1, options.contentBytes - prefix))
        begin(.sending, work: 0)
        guard !senders.isEmpty else { return }
        if closedLoop {
            let now = LoadShard.nowUs()
            for client in senders {
                for _ in 0..<window { sendMessage(client, stampUs: now) }
            }
        } else {
            sendIntervalUs = 1_000_000 / (Double(senders.count) * rate)
            tick()
        }
    }

    /// Stops the schedule; responses still in flight are counted when they arrive.
    func stopSending() {
        sendTimer?.cancel()
        sendTimer = nil
        sendEndUs = 0
        closedLoop = false
    }

    /// Sends every message due by now, then re-arms the timer.
    private func tick() {
        sendTimer = nil
        guard sendEndUs > 0 else { return }
        let now = LoadShard.nowUs()
        let due = Int64((Double(now - sendStartUs) / sendIntervalUs).rounded(.down)) + 1
        var budget = LoadShard.maxSendsPerTick
        while sendsScheduled < due && budget > 0 {
            let stamp = sendStartUs + Int64(Double(sendsScheduled) * sendIntervalUs)
            if stamp >= sendEndUs {
                sendEndUs = 0
                return
            }
            let client = senders[Int(sendsScheduled % Int64(senders.count))]
            sendsScheduled += 1
            budget -= 1
            let lag = now - stamp
            if lag > intervalMaxSendLagUs { intervalMaxSendLagUs = lag }
            if stamp >= measureStartUs { counters.sendLagUs.record(lag) }
            sendMessage(client, stampUs: stamp)
        }
        sendTimer = loop.schedule(afterMs: LoadShard.tickMs) { [weak self] in self?.tick() }
    }

    /// A response to one of `client`'s messages arrived: the closed loop sends the next one.
    func messageAnswered(_ client: BenchClient, nowUs: Int64) {
        guard closedLoop, nowUs < sendEndUs else { return }
        sendMessage(client, stampUs: nowUs)
    }

    /// Builds `{"type":"message","chat_id":"...","request_id":"m<n>","content":"t=<µs> <padding>"}`
    /// in the reusable buffer and sends it (one copy into the outbound chunk).
    func sendMessage(_ client: BenchClient, stampUs: Int64) {
        let counted = stampUs >= measureStartUs
        guard client.state == .ready, client.queuedBytes < BenchClient.sendBacklogBytesMax else {
            if counted { counters.sendsSkipped += 1 }
            return
        }
        jsonScratch.removeAll(keepingCapacity: true)
        jsonScratch.append(contentsOf: client.messageHead)
        LoadShard.appendDecimal(Int64(client.sentCount), to: &jsonScratch)
        jsonScratch.append(contentsOf: LoadShard.contentKey)
        LoadShard.appendDecimal(stampUs, to: &jsonScratch)
        jsonScratch.append(UInt8(ascii: " "))
        jsonScratch.append(contentsOf: padding)
        jsonScratch.append(UInt8(ascii: "\""))
        jsonScratch.append(UInt8(ascii: "}"))
        let n = jsonScratch.withUnsafeBytes { client.send(json: $0, scratch: &scratch, maskKey: rng.next32()) }
        guard n > 0 else {
            if counted { counters.sendsSkipped += 1 }
            return
        }
        client.sentCount += 1
        client.outstanding += 1
        if counted {
            counters.sent += 1
            counters.bytesOut += Int64(n)
        }
    }

    static let contentKey = Array(#"","content":"t="#.utf8)

    /// Appends the decimal digits of a non-negative integer.
    @inline(__always)
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        var v = value < 0 ? 0 : value
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            repeat {
                buf[count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            } while v > 0
            while count > 0 {
                count -= 1
                out.append(buf[count])
            }
        }
    }
}
