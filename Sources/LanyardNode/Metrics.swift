import Glibc
import LanyardCore
import Prometheus

/// What the event loop measured about itself: how much of the time it was handling work rather
/// than waiting in poll.
public struct LoopStats: Sendable {
    public let started: Nanoseconds
    public internal(set) var busy: Nanoseconds = 0
    public internal(set) var wakes: UInt64 = 0
    public init(now: Nanoseconds) { started = now }
}

/// Prometheus text exposition of a node's state, built only when scraped from the counters the
/// nodes keep anyway (the same values `lanyard status --json` shows), so metrics cost the data
/// path nothing. A fresh registry per scrape: removed peers simply disappear.
///
/// Names follow Prometheus conventions: `lanyard_` prefix, `_total` on counters, base units
/// (bytes, seconds), Unix timestamps for points in time.
public enum MetricsExposition {
    /// A switch's or a VPN server's metrics.
    public static func render(_ s: SwitchStatus, loop: LoopStats, now: Nanoseconds) -> String {
        let r = PrometheusCollectorRegistry()
        common(r, kind: s.kind, name: s.name, publicKey: s.publicKey, loop: loop, now: now)
        var states: [String: Int] = ["up": 0, "down": 0, "never seen": 0]
        for p in s.ports { states[p.state, default: 0] += 1 }
        for (state, n) in states.sorted(by: { $0.key < $1.key }) {
            r.gauge("lanyard_peers", labels: [("state", state)], help: "Authorized peers (ports or clients) by state.").set(Int64(n))
        }
        for p in s.ports {
            let labels = [("peer", p.name)]
            peer(r, labels: labels, up: p.state == "up", traffic: p.traffic, lastHandshake: p.lastHandshakeSeconds, now: now)
            if s.kind == "switch" {
                r.gauge("lanyard_peer_macs", labels: labels, help: "MAC addresses the switch has learned on this port.").set(Int64(p.macs))
            }
        }
        counter(r, "lanyard_handshakes_total", s.handshakes ?? 0, "WireGuard handshakes completed.")
        if let n = s.cookieReplies {
            counter(r, "lanyard_cookie_replies_total", n, "Cookie replies sent to initiations while under handshake load.")
            r.gauge("lanyard_handshake_under_load", help: "1 while handshakes need a cookie (a flood), else 0.").set(Int64(s.underLoad == true ? 1 : 0))
        }
        drops(r, "lanyard_datagram_drops_total", s.datagramDrops, "Datagrams dropped before switching or routing, by reason.")
        if s.kind == "switch" {
            drops(r, "lanyard_frame_drops_total", s.frameDrops, "Ethernet frames the switch dropped, by reason.")
            r.gauge("lanyard_mac_table_entries", help: "Entries in the switch's MAC table.").set(Int64(s.macCount ?? s.macTable.count))
            counter(r, "lanyard_mac_moves_total", s.macMoves ?? 0, "MAC addresses that moved from one port to another.")
            let pairs = s.relayPairs ?? []
            counter(r, "lanyard_relayed_packets_total", s.relayedPackets ?? pairs.reduce(0) { $0 + $1.packets },
                    "Sealed datagrams relayed between members (not readable by the switch).")
            counter(r, "lanyard_relayed_bytes_total", s.relayedBytes ?? pairs.reduce(0) { $0 + $1.bytes }, "Bytes of sealed datagrams relayed between members.")
        }
        if let b = s.batching { batching(r, b) }
        if let store = s.store {
            r.gauge("lanyard_store_reachable", help: "1 while the member store answers, else 0 (the daemon keeps its members).")
                .set(Int64(store.reachable ? 1 : 0))
            r.gauge("lanyard_store_version", help: "Version of the member list in use.").set(store.appliedVersion)
            r.gauge("lanyard_store_applied_timestamp_seconds", help: "When the member list in use was applied (unix time).").set(store.appliedAt)
        }
        if let m = s.mesh {
            drops(r, "lanyard_mesh_datagram_drops_total", m.datagramDrops, "Datagrams the switch-to-switch socket dropped, by reason.")
            counter(r, "lanyard_mesh_relay_refused_total", m.counters.relayRefused,
                    "Relay datagrams from another switch refused (a tag that does not verify, or a counter seen before).")
            for peer in m.switches {
                r.gauge("lanyard_mesh_switch_up", labels: [("switch", peer.name)], help: "1 while this switch holds a session with another switch of the network.")
                    .set(Int64(peer.up ? 1 : 0))
                r.gauge("lanyard_mesh_switch_members", labels: [("switch", peer.name)], help: "Members registered at another switch, as it last said.")
                    .set(Int64(peer.members))
            }
            for (direction, t) in [("out", m.counters.relayedOut), ("in", m.counters.relayedIn)] {
                r.counter("lanyard_mesh_relayed_bytes_total", labels: [("direction", direction)],
                          help: "Sealed relayed datagrams passed to (out) or taken from (in) other switches, bytes.")
                    .increment(by: Int64(clamping: direction == "out" ? t.txBytes : t.rxBytes))
            }
            for (direction, t) in [("out", m.counters.framesOut), ("in", m.counters.framesIn)] {
                r.counter("lanyard_mesh_frames_total", labels: [("direction", direction)],
                          help: "Frames (broadcast, unknown unicast) sent to (out) or taken from (in) other switches.")
                    .increment(by: Int64(clamping: direction == "out" ? t.txPackets : t.rxPackets))
            }
        }
        if let j = s.joins {
            for (outcome, n) in [("accepted", j.accepted), ("pending", j.pending), ("refused", j.refused),
                                 ("unreadable", j.unreadable), ("rate_limited", j.rateLimited)] {
                r.counter("lanyard_join_requests_total", labels: [("outcome", outcome)], help: "Join requests by outcome.").increment(by: Int64(n))
            }
        }
        return r.emitToString()
    }

    /// A port's, client's or tunnel's metrics: its session with the switch or server, and (a
    /// port) each member it talks to end to end and by which path.
    public static func render(_ s: LinkStatus, loop: LoopStats, now: Nanoseconds) -> String {
        let r = PrometheusCollectorRegistry()
        common(r, kind: s.kind, name: s.name, publicKey: s.publicKey, loop: loop, now: now)
        let hub = s.kind == "port" ? "switch" : (s.kind == "client" ? "server" : "peer")
        peer(r, labels: [("peer", hub)], up: s.state == "registered" || s.state == "up", traffic: s.traffic,
             lastHandshake: s.lastHandshakeSeconds, now: now)
        drops(r, "lanyard_datagram_drops_total", s.drops, "Datagrams or packets dropped, by reason.")
        if let members = s.members {
            var byPath: [String: UInt64] = ["direct": 0, "relayed": 0, "switch": 0]
            for m in members {
                let labels = [("member", m.name)]
                for path in ["direct", "relayed", "switch"] {
                    r.gauge("lanyard_member_path", labels: labels + [("path", path)],
                                help: "1 for the path this port uses to reach the member: direct, relayed (sealed, through the switch's relay) or switch.")
                        .set(Int64(m.path == path ? 1 : 0))
                }
                if let rtt = m.rttMilliseconds {
                    r.gauge("lanyard_member_rtt_seconds", labels: labels, help: "Round-trip time of the direct path.").set(rtt / 1000)
                }
                r.counter("lanyard_member_receive_bytes_total", labels: labels, help: "Bytes received from the member end to end.")
                    .increment(by: Int64(clamping: m.traffic.rxBytes))
                r.counter("lanyard_member_transmit_bytes_total", labels: labels, help: "Bytes sent to the member end to end.")
                    .increment(by: Int64(clamping: m.traffic.txBytes))
                byPath[m.path, default: 0] += m.traffic.rxBytes + m.traffic.txBytes
            }
            counter(r, "lanyard_direct_bytes_total", byPath["direct"] ?? 0, "Bytes to and from members on direct paths (members present now).")
            counter(r, "lanyard_relayed_bytes_total", byPath["relayed"] ?? 0, "Bytes to and from members through the switch's relay (members present now).")
        }
        if let b = s.batching { batching(r, b) }
        return r.emitToString()
    }

    private static func common(_ r: PrometheusCollectorRegistry, kind: String, name: String, publicKey: String, loop: LoopStats, now: Nanoseconds) {
        r.gauge("lanyard_info", labels: [("kind", kind), ("name", name), ("public_key", publicKey)],
                    help: "Which daemon this is (always 1).").set(Int64(1))
        r.gauge("lanyard_start_time_seconds", help: "When the daemon started, Unix time.")
            .set(unixTime(ago: now &- loop.started, now: now))
        r.counter("lanyard_event_loop_busy_seconds_total", help: "Time the event loop spent handling work rather than waiting.")
            .increment(by: Double(loop.busy) / 1e9)
        r.counter("lanyard_event_loop_wakes_total", help: "Times the event loop woke up.").increment(by: Int64(clamping: loop.wakes))
        let elapsed = max(1, now &- loop.started)
        r.gauge("lanyard_event_loop_busy_ratio", help: "Share of time since start the event loop was busy (rate() the busy seconds for a recent figure).")
            .set(Double(loop.busy) / Double(elapsed))
    }

    private static func peer(_ r: PrometheusCollectorRegistry, labels: [(String, String)], up: Bool, traffic: TrafficCounters,
                             lastHandshake: Double?, now: Nanoseconds) {
        r.gauge("lanyard_peer_up", labels: labels, help: "1 while the peer is connected.").set(Int64(up ? 1 : 0))
        r.counter("lanyard_peer_receive_bytes_total", labels: labels, help: "Bytes received from the peer (on the wire, sealed).")
            .increment(by: Int64(clamping: traffic.rxBytes))
        r.counter("lanyard_peer_transmit_bytes_total", labels: labels, help: "Bytes sent to the peer (on the wire, sealed).")
            .increment(by: Int64(clamping: traffic.txBytes))
        r.counter("lanyard_peer_receive_packets_total", labels: labels, help: "Datagrams received from the peer.")
            .increment(by: Int64(clamping: traffic.rxPackets))
        r.counter("lanyard_peer_transmit_packets_total", labels: labels, help: "Datagrams sent to the peer.")
            .increment(by: Int64(clamping: traffic.txPackets))
        if let ago = lastHandshake {
            r.gauge("lanyard_peer_last_handshake_timestamp_seconds", labels: labels, help: "When the last handshake with the peer completed, Unix time.")
                .set(unixTime(ago: Nanoseconds(ago * 1e9), now: now))
        }
    }

    private static func drops(_ r: PrometheusCollectorRegistry, _ name: String, _ counts: [String: UInt64], _ help: String) {
        for (reason, n) in counts.sorted(by: { $0.key < $1.key }) {
            r.counter(name, labels: [("reason", reason)], help: help).increment(by: Int64(clamping: n))
        }
    }

    private static func batching(_ r: PrometheusCollectorRegistry, _ b: BatchCounters) {
        counter(r, "lanyard_receive_calls_total", b.receiveCalls, "recvmmsg calls that returned datagrams.")
        counter(r, "lanyard_received_datagrams_total", b.receivedDatagrams, "Datagrams received (divided by the calls: the receive batch size).")
        counter(r, "lanyard_send_calls_total", b.sendCalls, "sendmmsg calls.")
        counter(r, "lanyard_sent_datagrams_total", b.sentDatagrams, "Datagrams sent (divided by the calls: the send batch size).")
        counter(r, "lanyard_failed_seals_total", b.failedSeals, "Datagrams whose queued encryption failed (sent as zeros, dropped by the peer).")
        counter(r, "lanyard_unsent_datagrams_total", b.unsentDatagrams, "Datagrams dropped because the socket's send queue was full.")
        counter(r, "lanyard_refused_datagrams_total", b.refusedDatagrams, "Datagrams the kernel refused to send (destination unreachable, too large).")
    }

    private static func counter(_ r: PrometheusCollectorRegistry, _ name: String, _ value: UInt64, _ help: String) {
        r.counter(name, help: help).increment(by: Int64(clamping: value))
    }

    /// The Unix time `ago` nanoseconds before now.
    private static func unixTime(ago: Nanoseconds, now: Nanoseconds) -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 - Double(ago) / 1e9).rounded()
    }
}

/// Metrics named in full (swift-prometheus 2.4 deprecated `makeGauge(name:)` and friends for a
/// descriptor of parts; an empty unit adds nothing to the name).
private extension PrometheusCollectorRegistry {
    func gauge(_ name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    func counter(_ name: String, labels: [(String, String)] = [], help: String) -> Counter {
        makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }
}
