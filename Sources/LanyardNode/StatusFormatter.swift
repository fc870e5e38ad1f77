import Foundation

/// Renders status JSON as text, in the spirit of a switch's `show mac address-table`.
public enum StatusFormatter {
    public static func text(fromJSON json: String) -> String {
        let data = Data(json.utf8)
        if let s = try? JSONDecoder().decode(SwitchStatus.self, from: data), s.kind == "switch" || s.kind == "server" { return text(s) }
        if let l = try? JSONDecoder().decode(LinkStatus.self, from: data) { return text(l) }
        return json
    }

    static func text(_ s: SwitchStatus) -> String {
        var out = "\(s.kind) \(s.name)  listening on \(s.listen)\(s.mode.map { "  (\($0))" } ?? "")\n  public key: \(s.publicKey)\n"
        if let total = s.portCount {
            let noun = s.kind == "server" ? "clients" : "ports"
            out += "  \(s.portsUp ?? 0) of \(total) \(noun) up\(s.macCount.map { ", \($0) MACs" } ?? "")"
            out += s.ports.count < total ? "; showing the first \(s.ports.count) (`lanyard status \(s.name) --all` lists all)\n" : "\n"
        }
        out += "\n"
        out += table(["Port", "State", "Endpoint", "Up (s)", "Heard (s)", "MACs", "Rx pkts", "Rx bytes", "Tx pkts", "Tx bytes"],
                     s.ports.map { p in
                         [p.name, p.state, p.endpoint ?? "-", p.connectedSeconds.map { String($0) } ?? "-",
                          p.lastHeardSeconds.map { String($0) } ?? "-", String(p.macs),
                          String(p.traffic.rxPackets), String(p.traffic.rxBytes),
                          String(p.traffic.txPackets), String(p.traffic.txBytes)]
                     })
        if s.kind == "server" {
            out += "\nClient addresses\n"
            out += table(["Client", "Addresses"], s.ports.map { [$0.name, ($0.addresses ?? []).joined(separator: " ")] })
        } else {
            out += "\nMAC address table (\(s.macTable.count) entries)\n"
            out += table(["MAC", "Port", "Age (s)"], s.macTable.map { [$0.mac, $0.port, String($0.ageSeconds)] })
        }
        if let pairs = s.relayPairs, !pairs.isEmpty {
            out += "\nRelayed (sealed, not readable by the switch)\n"
            out += table(["From", "To", "Packets", "Bytes"], pairs.map { [$0.from, $0.to, String($0.packets), String($0.bytes)] })
        }
        if let m = s.mesh {
            let c = m.counters
            out += "\nOther switches (switch-to-switch on \(m.listen); \(m.remoteMembers) members registered at them)\n"
            out += table(["Switch", "State", "Endpoint", "Members", "Handshake (s)"], m.switches.map {
                [$0.name, $0.up ? "up" : "down", $0.endpoint, String($0.members), $0.lastHandshakeSeconds.map { String($0) } ?? "-"]
            })
            out += "  relayed across: \(c.relayedOut.txBytes) bytes out, \(c.relayedIn.rxBytes) in; frames: \(c.framesOut.txPackets) out, \(c.framesIn.rxPackets) in; introductions \(c.introductions)\n"
        }
        out += "\nDrops\n"
        let drops = s.datagramDrops.map { ("datagram: " + $0.key, $0.value) } + s.frameDrops.map { ("frame: " + $0.key, $0.value) }
        out += drops.isEmpty ? "  none\n" : table(["Reason", "Count"], drops.sorted { $0.0 < $1.0 }.map { [$0.0, String($0.1)] })
        return out
    }

    static func text(_ l: LinkStatus) -> String {
        var out = "\(l.kind) \(l.name)  interface \(l.interface)  \(l.state)\n"
        out += "  public key: \(l.publicKey)\n  peer: \(l.peerPublicKey)\n  endpoint: \(l.endpoint ?? "(none yet)")\n"
        out += "  latest handshake: \(l.lastHandshakeSeconds.map { "\($0) s ago" } ?? "none")\n"
        out += "  transfer: \(l.traffic.rxBytes) B received (\(l.traffic.rxPackets) pkts), \(l.traffic.txBytes) B sent (\(l.traffic.txPackets) pkts)\n"
        if let members = l.members {
            if let total = l.memberCount, total > 0 {
                out += "  members (\(l.mode ?? "direct paths")): \(total) known, \(l.membersDirect ?? 0) on a direct path"
                out += members.count < total ? "; showing the first \(members.count) (`lanyard status \(l.name) --all` lists all)\n" : "\n"
            } else {
                out += "  members (\(l.mode ?? "direct paths")): \(members.isEmpty ? "none known yet" : "")\n"
            }
            if !members.isEmpty {
                out += table(["Member", "Path", "Endpoint", "RTT (ms)", "Handshake (s)", "Rx bytes", "Tx bytes"], members.map { m in
                    [m.name, m.path, m.endpoint ?? "-", m.rttMilliseconds.map { String($0) } ?? "-",
                     m.lastHandshakeSeconds.map { String($0) } ?? "-", String(m.traffic.rxBytes), String(m.traffic.txBytes)]
                }).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
            }
        }
        if !l.drops.isEmpty {
            out += "  drops: " + l.drops.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "\n"
        }
        return out
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            "  " + row.indices.map { $0 == row.count - 1 ? row[$0] : row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
