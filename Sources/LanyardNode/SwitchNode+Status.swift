import Foundation
import LanyardCore

extension SwitchNode {
    /// A snapshot of ports, MAC table and drop counters.
    public func status(now: Nanoseconds, listen: String) -> SwitchStatus {
        var macsByPort: [PortID: Int] = [:]
        let table = fabric.table.snapshot()
        for (_, entry) in table { macsByPort[entry.port, default: 0] += 1 }
        let portList = ports.indices.map { i -> SwitchStatus.Port in
            let id = PortID(i)
            let who = security.identity(of: id)
            let p = ports[i]
            return SwitchStatus.Port(
                id: id, name: who.name, publicKey: who.publicKey,
                state: p.registered ? "up" : (p.endpoint == nil ? "never seen" : "down"),
                endpoint: p.endpoint?.description,
                connectedSeconds: p.registered ? seconds(now &- p.connectedAt) : nil,
                lastHeardSeconds: p.endpoint == nil ? nil : seconds(now &- p.lastHeard),
                macs: macsByPort[id, default: 0], traffic: p.traffic)
        }
        let macs = table.map { mac, entry in
            SwitchStatus.MACEntry(mac: mac.description, port: security.identity(of: entry.port).name,
                                  ageSeconds: seconds(now &- entry.lastSeen))
        }
        return SwitchStatus(name: settings.name, listen: listen, publicKey: security.publicKeyDescription,
                            ports: portList, macTable: macs,
                            datagramDrops: ReasonCountersExport.dictionary(drops.nonZero),
                            frameDrops: ReasonCountersExport.dictionary(fabric.drops.nonZero))
    }
}

/// JSON for the control socket.
public func encodeStatus<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
}
