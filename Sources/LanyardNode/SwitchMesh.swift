import LanyardCore
import LanyardLinux
import LanyardWireGuard
import Logging

/// One switch among several serving one network: its WireGuard sessions with the other switches
/// (on a socket of their own, so nothing of a member's data path changes), what they told it of
/// their members (`MeshRoster`), and the counters of what crossed between switches. What the
/// switch does with mesh messages is in `SwitchNode+Mesh`.
public final class SwitchMesh {
    /// Sessions with the other switches (peers: the store's `switches` list but this one).
    let hub: PeerHub
    let logger: Logger
    let ownKey: PublicKey
    var roster = MeshRoster(lifetime: SwitchMesh.rosterLifetime)
    /// Per other switch (by slot): who it is and where it said it listens.
    var records: [MeshSwitch?] = []
    /// Cross-switch traffic, for status and metrics.
    var counters = MeshCounters()
    /// Room to build mesh messages around a frame (no allocation per packet).
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
    var nextRoster: Nanoseconds = 0
    var nextPing: Nanoseconds = 0

    /// Relayed datagrams go from switch to switch as they came (no second encryption, not one
    /// byte longer: a full-size one still fits a 1500-byte path), in the relay header's format:
    /// the member id is the destination in the recipient's ids, the counter's top 24 bits the
    /// origin in the sender's ids and its low 40 bits a sequence of that pair of switches, and
    /// the tag is made with a key the recipient chose for that sender alone and told it in
    /// `meshHello` inside their session (so a datagram for one switch means nothing to another).
    static let originShift: UInt64 = 40
    static let sequenceMask: UInt64 = (1 << 40) - 1
    /// A new key is asked for when a sequence passes this (long before it wraps).
    static let rekeyAt: UInt64 = 1 << 39
    /// This run of the switch (a new one: the others drop what it said before).
    let run = UInt64.random(in: 1 ... .max)
    /// Per other switch (by slot): the relay keys both ways, and its run.
    var links: [MeshLink] = []
    /// Whether the other switches should send their rosters at the next hello (members were added).
    var wantRosters = false

    /// A full roster goes to every other switch this often; entries live three times as long.
    static let rosterInterval: Nanoseconds = .seconds(10)
    static let rosterLifetime: Int64 = 35
    /// A switch pings the others this often, and drops one silent for `silenceTimeout`.
    static let pingInterval: Nanoseconds = .seconds(2)
    static let silenceTimeout: Nanoseconds = .seconds(8)

    public init(privateKey: PrivateKey, socket: UDPSocket, logger: Logger) {
        ownKey = privateKey.publicKey
        hub = PeerHub(directory: WireGuardPeerDirectory(privateKey: privateKey, peers: []), io: BatchedSocket(socket), logger: logger)
        self.logger = logger
    }

    deinit { scratch.deallocate() }

    /// The mesh socket's descriptor, for the event loop.
    public var fileDescriptor: Int32 { hub.io.socket.fileDescriptor }
    public var localAddress: SocketAddress { hub.io.socket.localAddress }

    /// Takes the store's list of switches: new ones get a session (started at once), gone ones
    /// lose theirs and every member they held. This switch's own entry is skipped.
    func apply(_ switches: [MeshSwitch], now: Nanoseconds) -> [PortID] {
        let others = switches.filter { $0.publicKey != ownKey }
        let peers = others.map { AuthorizedPeer(name: $0.name, publicKey: $0.publicKey) }
        let diff = hub.membershipDiff(to: peers) { current, wanted in current.name == wanted.name }
        var changed: [PortID] = []
        for slot in diff.removed {
            logger.notice("switch \(hub.name(of: PortID(slot))) left the network")
            roster.dropPeer(UInt32(slot))
            hub.remove(PortID(slot))
            records[slot] = nil
            links[slot] = MeshLink()
        }
        for position in diff.added {
            let id = hub.add(peers[position])
            while records.count <= Int(id) { records.append(nil); links.append(MeshLink()) }
            links[Int(id)] = MeshLink()
            logger.notice("switch \(others[position].name) is in the network at \(others[position].meshEndpoint)")
            changed.append(id)
        }
        for (slot, position) in diff.kept { records[slot] = others[position] }
        for position in diff.added { records[Int(hub.directory.id(of: others[position].publicKey)!)] = others[position] }
        // Where to reach each switch not up now (resolved on the store's thread: no lookup here).
        for slot in records.indices {
            guard let record = records[slot], hub.peers[slot].isMember, !hub.peers[slot].isUp else { continue }
            guard let address = record.address else {
                logger.warning("switch \(record.name): its mesh endpoint \(record.meshEndpoint) does not resolve; tried again at the next change")
                continue
            }
            hub.setRoute(PortID(slot), endpoint: address, relayMember: nil)
        }
        return changed
    }

    /// Whether switch `slot` is a current, up peer.
    @inline(__always)
    func isUp(_ slot: UInt32) -> Bool { Int(slot) < hub.peers.count && hub.peers[Int(slot)].isUp }

    /// Seals `message` (a Lanyard message) for switch `slot`.
    @inline(__always)
    func send(_ message: UnsafeRawBufferPointer, to slot: UInt32, now: Nanoseconds) {
        hub.send(message, to: PortID(slot), now: now)
    }

    /// The other switches, for status.
    func status(now: Nanoseconds) -> [SwitchStatus.MeshPeer] {
        hub.peers.indices.compactMap { i in
            guard hub.peers[i].isMember, let record = records[i] else { return nil }
            let p = hub.peers[i]
            return SwitchStatus.MeshPeer(
                name: record.name, publicKey: record.publicKey.base64, endpoint: (p.endpoint?.description) ?? record.meshEndpoint,
                up: p.isUp, members: roster.count(at: UInt32(i)),
                lastHandshakeSeconds: p.link.lastHandshake.map { seconds(now &- $0) })
        }
    }
}

/// The relay keys between this switch and another, both ways, and the other's run.
struct MeshLink {
    /// What we chose for its relay datagrams to us (a fresh key at each run of either side), and their window.
    var gate = RelayGate(rawKey: RelayGate.randomKey(), counterMask: SwitchMesh.sequenceMask)
    /// Its run, as its hellos name it (nil: not heard yet).
    var run: UInt64?
    /// What it chose for our relay datagrams to it, and our sequence under that key.
    var sendKey: SipHash24?
    var sendRawKey: [UInt8] = []
    var sequence: UInt64 = 0
    /// Set when we want a new key from it (our sequence is getting long).
    var wantsNewKey: Bool { sequence >= SwitchMesh.rekeyAt }
}

/// Another switch of the network, as the store lists it.
public struct MeshSwitch: Sendable, Equatable {
    public var name: String
    public var publicKey: PublicKey
    /// HOST:PORT of its switch-to-switch socket, and that resolved (nil: it did not resolve).
    public var meshEndpoint: String
    public var address: SocketAddress?
    /// Resolves `meshEndpoint` (a name lookup: call it off the event loop).
    public init(name: String, publicKey: PublicKey, meshEndpoint: String) {
        self.name = name
        self.publicKey = publicKey
        self.meshEndpoint = meshEndpoint
        address = try? SocketAddress.resolve(meshEndpoint)
    }
}

/// What crossed between switches.
public struct MeshCounters: Sendable, Equatable, Codable {
    /// Relayed datagrams passed to another switch, and from one to a member here.
    public var relayedOut = TrafficCounters()
    public var relayedIn = TrafficCounters()
    /// Frames (broadcast, unknown unicast, `--relay-all`) sent to and taken from other switches.
    public var framesOut = TrafficCounters()
    public var framesIn = TrafficCounters()
    /// Introductions across switches, both ways.
    public var introductions: UInt64 = 0
    /// Relay datagrams from another switch refused: a tag that does not verify, or a counter seen before.
    public var relayRefused: UInt64 = 0
    /// Mesh messages naming a member the other switch has not announced (counted, dropped).
    public var unknownMember: UInt64 = 0
}
