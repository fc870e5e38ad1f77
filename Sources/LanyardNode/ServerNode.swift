import LanyardCore
import LanyardLinux
import LanyardWireGuard
import Logging

/// Settings of an L3 VPN server.
public struct ServerSettings: Sendable {
    public var name: String
    /// Whether clients may reach each other through the server.
    public var clientToClient: Bool
    /// Keepalive and silence told to Lanyard clients; clients silent this long are marked down.
    public var keepaliveSeconds: Int
    public var silenceSeconds: Int

    public init(name: String, clientToClient: Bool, keepaliveSeconds: Int = 2, silenceSeconds: Int = 6) {
        self.name = name
        self.clientToClient = clientToClient
        self.keepaliveSeconds = keepaliveSeconds
        self.silenceSeconds = silenceSeconds
    }
}

/// A 128-bit IPv6 address as a dictionary key.
struct IPv6Key: Hashable { let high: UInt64, low: UInt64 }

/// The routed VPN server: IP packets from clients (on a `PeerHub`) go to the TUN device (and on,
/// through the kernel's routing and NAT) or straight to another client; packets from the TUN go
/// to the client that owns the destination address. Each client may only send from its own
/// addresses (no spoofing).
public final class ServerNode {
    let settings: ServerSettings
    let hub: PeerHub
    let tun: TunDevice
    let logger: Logger
    /// Each client's addresses and its `config` message, by id (empty for a removed client).
    var addresses: [[IPPrefix]]
    var configs: [[UInt8]]
    var byIPv4: [UInt32: PortID] = [:]
    var byIPv6: [IPv6Key: PortID] = [:]

    public init(settings: ServerSettings, hub: PeerHub, tun: TunDevice, addresses: [[IPPrefix]],
                configs: [ClientConfig], logger: Logger) {
        self.settings = settings
        self.hub = hub
        self.tun = tun
        self.addresses = addresses
        self.logger = logger
        self.configs = configs.map { LanyardMessage.encode(.config, body: Array($0.text.utf8)) }
        rebuildAddressIndex()
    }

    private func rebuildAddressIndex() {
        byIPv4.removeAll()
        byIPv6.removeAll()
        for (i, list) in addresses.enumerated() where hub.peers[i].isMember {
            for a in list {
                if a.isIPv6 { byIPv6[IPv6Key(high: a.high, low: a.low)] = PortID(i) } else { byIPv4[UInt32(a.low)] = PortID(i) }
            }
        }
    }

    /// Applies a new client list while running: clients no longer listed, or whose addresses or
    /// keys changed, are cut off at once; new ones may connect; everyone else's sessions stay up.
    /// Returns (added, removed).
    @discardableResult
    public func apply(clients: [AuthorizedPeer], addresses newAddresses: [[IPPrefix]], configs newConfigs: [ClientConfig]) -> (added: Int, removed: Int) {
        let diff = hub.membershipDiff(to: clients) { current, wanted in wanted.presharedKey == current.presharedKey }
        for i in diff.removed {
            // A client whose addresses changed is cut off too: its sessions restart with the new ones.
            logger.notice("client \(hub.directory.peers[i].name) removed")
            hub.remove(PortID(i))
            addresses[i] = []
        }
        var removed = diff.removed.count
        var added = 0
        var toAdd = diff.added
        for (slot, position) in diff.kept {
            guard newAddresses[position] == addresses[slot] else {
                logger.notice("client \(hub.directory.peers[slot].name) removed (its addresses changed)")
                hub.remove(PortID(slot))
                addresses[slot] = []
                removed += 1
                toAdd.append(position)
                continue
            }
            configs[slot] = LanyardMessage.encode(.config, body: Array(newConfigs[position].text.utf8))
        }
        for j in toAdd.sorted() {
            let c = clients[j]
            let id = Int(hub.add(c))
            while addresses.count <= id { addresses.append([]); configs.append([]) }
            addresses[id] = newAddresses[j]
            configs[id] = LanyardMessage.encode(.config, body: Array(newConfigs[j].text.utf8))
            logger.notice("client \(c.name) added (\(newAddresses[j].map(\.description).joined(separator: ", ")))")
            added += 1
        }
        rebuildAddressIndex()
        return (added, removed)
    }

    /// The client owning the packet's destination address, if any.
    func client(forDestinationOf p: UnsafeRawBufferPointer) -> PortID? {
        switch IPPacket.version(p) {
        case 4: return byIPv4[IPPacket.ipv4Destination(p)]
        case 6:
            let (h, l) = IPPacket.ipv6Destination(p)
            return byIPv6[IPv6Key(high: h, low: l)]
        default: return nil
        }
    }

    /// TUN → clients.
    public func tunReadable(now: Nanoseconds) throws(SystemError) {
        try tun.readPackets(limit: 64, headroom: 0) { region in
            let packet = UnsafeRawBufferPointer(region)
            guard let id = client(forDestinationOf: packet) else { hub.drops.record(.noRoute); return }
            hub.send(packet, to: id, now: now)
        }
        hub.flush()
    }

    /// Clients → TUN / other clients.
    public func receiveAll(now: Nanoseconds) throws(SystemError) {
        try hub.receiveAll(now: now) { deliver($0, from: $1, now: now) }
        try tun.flushWrites()
    }

    private func deliver(_ plaintext: UnsafeRawBufferPointer, from id: PortID, now: Nanoseconds) {
        if IPPacket.version(plaintext) != nil {
            guard let length = IPPacket.length(plaintext) else { hub.drops.record(.notAnIPPacket); return }
            let packet = UnsafeRawBufferPointer(rebasing: plaintext[0..<length])
            guard addresses[Int(id)].contains(where: { $0.containsSource(ofPacket: packet) }) else {
                hub.drops.record(.sourceNotAllowed); return
            }
            hub.markUp(id, now: now)
            if let other = client(forDestinationOf: packet), other != id {
                guard settings.clientToClient else { hub.drops.record(.clientToClientForbidden); return }
                hub.send(packet, to: other, now: now)
                return
            }
            try? tun.writeCoalescing(packet)
            return
        }
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { hub.drops.record(.lanyardMalformed); return }
        switch header.kind {
        case .hello:
            hub.markUp(id, now: now)
            configs[Int(id)].withUnsafeBytes { hub.send($0, to: id, now: now) }
        case .ping:
            hub.markUp(id, now: now)
            LanyardMessage.encode(.pong, body: Array(plaintext[header.bodyRange])).withUnsafeBytes { hub.send($0, to: id, now: now) }
        case .bye:
            if hub.mayLogLeaving(id, now: now) { logger.info("client \(hub.name(of: id)) left") }
            hub.markDown(id)
        case .frame, .welcome, .pong, .config, .switchedFrame, .lookup, .member, .memberGone, .endpoints, .vouch, .roster, .meshIntroduce, .meshFrame, .meshHello:
            hub.drops.record(.notAFrame)
        }
    }

    /// Timers and silence.
    public func housekeeping(now: Nanoseconds) {
        hub.housekeeping(now: now, silenceTimeout: .seconds(Double(settings.silenceSeconds))) { _ in }
    }

    public func sayGoodbye(now: Nanoseconds) { hub.sayGoodbye(now: now) }

    /// One line for systemd's status.
    public func summary() -> String { hub.upSummary("clients") }

    /// Answers WireGuard's userspace API, so that `wg show` lists the server's clients. Only
    /// `get` is served: clients are added and removed with `lanyard server add-client` /
    /// `remove-client` (or the clients file and SIGHUP), which also give them their addresses.
    public func handleWireGuardAPI(_ request: String, privateKey: PrivateKey, listenPort: UInt16, now: Nanoseconds) -> String {
        guard request.hasPrefix("get=1") else { return "errno=95\n\n" } // EOPNOTSUPP
        let wall = wallClock()
        let nowWall = Int64(wall.seconds) * 1_000_000_000 + Int64(wall.nanoseconds)
        let peers = hub.peers.indices.filter { hub.peers[$0].isMember }.map { i -> UAPI.PeerState in
            let authorized = hub.directory.peers[i]
            let handshake = hub.lastHandshake(PortID(i)).map { nowWall - Int64(now &- $0) } ?? 0
            return UAPI.PeerState(publicKey: authorized.publicKey, presharedKey: authorized.presharedKey,
                                  endpoint: hub.peers[i].endpoint?.description,
                                  lastHandshakeSeconds: handshake / 1_000_000_000, lastHandshakeNanoseconds: handshake % 1_000_000_000,
                                  txBytes: hub.peers[i].traffic.txBytes, rxBytes: hub.peers[i].traffic.rxBytes,
                                  persistentKeepalive: 0, allowedIPs: addresses[i])
        }
        return UAPI.formatGet(privateKey: privateKey, listenPort: listenPort, fwmark: 0, peers: peers)
    }

    /// A snapshot for `lanyard status` (clients shown as ports, with their addresses as "MACs" count 0).
    public func status(now: Nanoseconds, listen: String, publicKey: String, scope: StatusScope = .all) -> SwitchStatus {
        var range: Range<Int>?
        switch scope {
        case .all, .ports: range = nil
        case .summary: range = 0..<0
        case .page(let offset, let limit): range = offset..<(offset + limit)
        }
        var s = SwitchStatus(name: settings.name, listen: listen, publicKey: publicKey,
                             ports: hub.statusRows(now: now, range: range) { _ in 0 }, macTable: [],
                             datagramDrops: countsByName(hub.drops.nonZero), frameDrops: [:])
        if scope != .all { (s.portCount, s.portsUp) = hub.counts() }
        s.kind = "server"
        s.handshakes = hub.handshakes
        s.cookieReplies = hub.cookieReplies
        s.underLoad = hub.isUnderLoad
        s.batching = hub.io.batching
        tun.addDrops(to: &s.datagramDrops)
        for i in s.ports.indices { s.ports[i].addresses = addresses[Int(s.ports[i].id)].map(\.description) }
        return s
    }
}
