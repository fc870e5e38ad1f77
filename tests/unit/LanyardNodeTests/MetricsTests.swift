import LanyardCore
import Testing
@testable import LanyardNode

/// The Prometheus exposition built from status snapshots: names, labels and values as scraped.
@Suite struct MetricsTests {
    func port(_ name: String, state: String, rx: UInt64) -> SwitchStatus.Port {
        var traffic = TrafficCounters()
        traffic.rxBytes = rx
        traffic.rxPackets = 3
        return SwitchStatus.Port(id: 0, name: name, publicKey: "k", state: state, endpoint: nil, connectedSeconds: nil,
                                 lastHeardSeconds: nil, lastHandshakeSeconds: 2, macs: 4, traffic: traffic)
    }

    /// The value of the sample named exactly `sample` (name and labels).
    func value(_ text: String, _ sample: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.map { String($0.split(separator: " ").last!) }
    }

    @Test func switchCountersAppearWithTheirValues() {
        var s = SwitchStatus(name: "office", listen: "[::]:51820", publicKey: "pk", ports: [port("laptop", state: "up", rx: 1234), port("desk", state: "down", rx: 0)],
                             macTable: [], datagramDrops: ["forged relay header": 7], frameDrops: [:])
        s.handshakes = 5
        s.relayPairs = [.init(from: "laptop", to: "desk", packets: 10, bytes: 1500)]
        let text = MetricsExposition.render(s, loop: LoopStats(now: 0), now: 1_000_000_000)
        #expect(value(text, "lanyard_peer_receive_bytes_total{peer=\"laptop\"}") == "1234")
        #expect(value(text, "lanyard_peer_up{peer=\"laptop\"}") == "1.0")
        #expect(value(text, "lanyard_peer_up{peer=\"desk\"}") == "0.0")
        #expect(value(text, "lanyard_peers{state=\"up\"}") == "1.0")
        #expect(value(text, "lanyard_handshakes_total") == "5")
        #expect(value(text, "lanyard_datagram_drops_total{reason=\"forged relay header\"}") == "7")
        #expect(value(text, "lanyard_relayed_bytes_total") == "1500")
        #expect(value(text, "lanyard_peer_macs{peer=\"laptop\"}") == "4.0")
        #expect(text.contains("# TYPE lanyard_peer_receive_bytes_total counter"))
        #expect(value(text, "lanyard_peer_last_handshake_timestamp_seconds{peer=\"laptop\"}") != nil)
    }

    /// A fresh registry per scrape: a removed peer is gone from the next scrape.
    @Test func removedPeersDisappear() {
        let one = SwitchStatus(name: "o", listen: "", publicKey: "", ports: [port("a", state: "up", rx: 1), port("b", state: "up", rx: 2)],
                               macTable: [], datagramDrops: [:], frameDrops: [:])
        var two = one
        two.ports.removeLast()
        #expect(MetricsExposition.render(one, loop: LoopStats(now: 0), now: 1).contains("peer=\"b\""))
        #expect(!MetricsExposition.render(two, loop: LoopStats(now: 0), now: 1).contains("peer=\"b\""))
    }

    @Test func portShowsEachMembersPath() {
        var traffic = TrafficCounters()
        traffic.txBytes = 99
        var s = LinkStatus(kind: "port", name: "p", interface: "tap0", publicKey: "k", peerPublicKey: "s", endpoint: nil,
                           state: "registered", lastHandshakeSeconds: nil, lastHeardSeconds: nil, traffic: TrafficCounters(), drops: [:])
        s.members = [MemberStatus(name: "b", publicKey: "x", path: "relayed", endpoint: nil, rttMilliseconds: nil,
                                  lastHandshakeSeconds: nil, candidates: [], traffic: traffic)]
        let text = MetricsExposition.render(s, loop: LoopStats(now: 0), now: 1)
        #expect(value(text, "lanyard_member_path{member=\"b\",path=\"relayed\"}") == "1.0")
        #expect(value(text, "lanyard_member_path{member=\"b\",path=\"direct\"}") == "0.0")
        #expect(value(text, "lanyard_relayed_bytes_total") == "99")
        #expect(value(text, "lanyard_peer_up{peer=\"switch\"}") == "1.0")
    }
}

/// What a status request asks for, parsed from the control socket's request line.
@Suite struct StatusScopeTests {
    @Test func requestsMapToScopes() {
        #expect(StatusScope(request: "status") == .all)
        #expect(StatusScope(request: "status summary") == .summary)
        #expect(StatusScope(request: "status page 500 250") == .page(offset: 500, limit: 250))
        #expect(StatusScope(request: "status page 0 999999") == .page(offset: 0, limit: 5000))   // pages are capped
        #expect(StatusScope(request: "status page -1 10") == .all)                               // nonsense: the whole status
        #expect(StatusScope(request: "status page x y") == .all)
    }
}
