// ConnectScenario: open C connections in a ramp, optionally authenticate them, hold, measure memory per connection, close.
import TagarelaJSON

/// `tagarela bench connect`: handshakes per second, time to open all, and the RSS each
/// connection costs the gateway and each worker (RSS during the hold minus RSS before).
enum ConnectScenario {
    static func run(_ options: BenchOptions) throws -> (BenchReport, Bool) {
        let gen = try LoadGenerator(options: options, users: options.connections, groupSize: 0)
        gen.start()
        defer { gen.stop() }
        let before = gen.monitor.sample()

        let opened = gen.phase("connect", timeoutS: options.timeoutS, begin: { $0.connect() }, done: { $0.pending == 0 })
        let afterConnect = gen.monitor.sample()
        var authOutcome: PhaseOutcome? = nil
        if options.auth != .none && !gen.pastDeadline {
            authOutcome = gen.phase("auth", timeoutS: options.timeoutS, begin: { $0.authenticate(mode: options.auth) },
                                    done: { $0.pending == 0 })
        }
        let held = gen.hold("hold", seconds: options.holdS)
        let during = gen.monitor.sample()
        let closed = gen.phase("close", timeoutS: 30, begin: { $0.closeAll() }, done: { $0.pending == 0 })
        let c = closed.last.counters

        var r = BenchReport(scenario: "connect")
        r.add("transport", .string(options.transport.rawValue), label: "transport")
        r.add("connections_requested", .int(Int64(options.connections)), label: "connections requested")
        r.add("connections_opened", .int(Int64(c.connected)), label: "connections opened")
        r.add("connections_failed", .int(Int64(c.connectFailed)), label: "connections failed")
        r.add("connections_held", .int(Int64(held.last.ready)), label: "connections open at end of hold")
        r.add("closed_unexpectedly", .int(Int64(c.closedUnexpectedly)), label: "closed by the server")
        r.add("batch", .int(Int64(options.batch)), label: "handshakes in flight (batch)")
        let sources = options.sourceAddressCount(connections: options.connections)
        r.add("source_ips", .int(Int64(sources)), label: "source addresses",
              text: sources == 1 ? "127.0.0.1" : "127.0.0.1 ... \(SourceAddress.dotted(SourceAddress.address(forIndex: sources - 1, count: sources)))")
        r.add("open_all_seconds", .double(round3(opened.seconds)), label: "time to open all",
              text: String(format: "%.3f s%@", opened.seconds, opened.completed ? "" : " (did not finish)"))
        let rate = Double(c.connected) / max(opened.seconds, 1e-6)
        r.add("handshakes_per_second", .double(rate.rounded()), label: "handshakes/s", text: Format.count(rate))
        r.addLatency("handshake_latency", c.handshakeUs, label: "handshake latency")
        if let a = authOutcome {
            let n = options.auth == .register ? c.registered : c.authenticated
            r.add("auth_mode", .string(options.auth.rawValue), label: "auth")
            r.add("authenticated", .int(Int64(c.authenticated)), label: "authenticated",
                  text: "\(c.authenticated) (registered \(c.registered)) in \(String(format: "%.2f", a.seconds)) s, "
                      + "\(Format.count(Double(n) / max(a.seconds, 1e-6)))/s")
            r.add("auth_seconds", .double(round3(a.seconds)))
        }
        var perConn: [(String, JSON)] = []
        for p in gen.monitor.processes {
            guard let x = before.byName[p.name], let y = during.byName[p.name] else { continue }
            let delta = Double(y.rssBytes - x.rssBytes)
            let per = c.connected > 0 ? delta / Double(c.connected) : 0
            perConn.append((p.name, .object(JSONObject([("rss_before_bytes", .int(x.rssBytes)), ("rss_held_bytes", .int(y.rssBytes)),
                                                           ("rss_per_connection_bytes", .double(per.rounded()))]))))
            r.row("RSS \(p.name)", "\(Format.bytes(Double(x.rssBytes))) -> \(Format.bytes(Double(y.rssBytes))): "
                  + "\(Format.bytes(per)) per connection")
        }
        r.add("memory", .object(JSONObject(perConn)))
        r.addProcesses(gen.monitor, from: before, to: afterConnect, key: "cpu_during_connect")
        r.warnAboutOtherLoad(gen.monitor, from: before, to: afterConnect, boundPercent: options.maxOtherCPU)
        r.add("close_seconds", .double(round3(closed.seconds)), label: "time to close all",
              text: String(format: "%.3f s%@", closed.seconds, closed.completed ? "" : " (did not finish)"))
        r.addErrors(c.errors)
        let ok = opened.completed && c.connectFailed == 0 && c.closedUnexpectedly == 0
        return (r, ok)
    }

    static func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}
