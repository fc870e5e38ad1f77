import LanyardCore
import LanyardLinux
import LanyardWireGuard
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A userspace WireGuard interface: one TUN (or TAP) device, one UDP socket, the sessions with
/// its peers on a `PeerHub`. It is the one data path of `lanyard wireguard` (the drop-in for
/// wireguard-go, many peers configured through WireGuard's userspace API by `wg` and
/// `wg-quick`) and of `lanyard tunnel` (one peer configured from the command line, the same
/// configuration applied through the same `apply`). Batching, offloads and crypto threads live
/// below it, in `PeerHub`, `BatchedSocket` and `CryptoWorkers`, shared with the switch, the
/// server and a port's member sessions.
///
/// Cryptokey routing by `AllowedIPs` (longest prefix wins out, the sending peer's prefixes
/// checked in), roaming, persistent keepalives, preshared keys, rekeying per peer. Peers come and
/// go while running without touching the others.
public final class WireGuardDevice {
    /// What the device is for: where packets read from the device go, and how status reads.
    public enum Role: Sendable {
        /// The drop-in: each packet goes to the peer whose allowed prefix matches its destination.
        case interface
        /// A tunnel to one peer: whatever the kernel routes into the device goes to that peer (its
        /// allowed prefixes still check what comes back). On a TAP device the plaintext is a
        /// Lanyard frame message, so both ends must be Lanyard.
        case tunnel
    }

    public let name: String
    public let role: Role
    let tun: TunDevice
    let socket: UDPSocket
    let io: BatchedSocket
    let logger: Logger
    /// Crypto threads every hub this device makes shares (none: all on the event loop).
    let workers: CryptoWorkers?
    public internal(set) var privateKey: PrivateKey?
    public internal(set) var fwmark: UInt32 = 0
    var hub: PeerHub?
    var routes = AllowedIPs()
    /// The peer of a tunnel (the first configured), in the hub's ids.
    var tunnelPeer: PortID?
    /// Configured peers in the order they were added (the order `wg show` lists them).
    var peers: [PeerConfig] = []
    var drops = ReasonCounters<DatagramDropReason>()
    /// The last IPv4 source (as read from the packet) found allowed, and for which peer; cleared
    /// whenever the routes change.
    var lastAllowedSource: (address: UInt32, peer: PortID)?
    /// When `tick` next looks at whose session came up or expired (it runs after every wake).
    private var nextSessionCheck: Nanoseconds = 0
    /// A Lanyard frame header in front of each frame of a TAP tunnel.
    private let headroom: Int

    struct PeerConfig {
        let publicKey: PublicKey
        var presharedKey: PresharedKey?
        var endpoint: SocketAddress?
        var keepalive: UInt16 = 0
        var allowedIPs: [IPPrefix] = []
        /// Whether its session was up at the last tick, and its endpoint logged (for the log).
        var wasEstablished = false
        var endpointLogged = false
    }

    /// A device on `tun` and `socket`; with `workers` of more than one thread, packets are
    /// sealed and opened a batch at a time on all of them, and delivered in their order.
    public init(name: String, tun: TunDevice, socket: UDPSocket, role: Role = .interface, workers: CryptoWorkers? = nil,
                logger: Logger) {
        self.name = name
        self.role = role
        self.tun = tun
        self.socket = socket
        self.workers = workers
        io = BatchedSocket(socket)
        self.logger = logger
        headroom = tun.mode == .tap ? LanyardMessage.headerLength : 0
    }

    public var listenPort: UInt16 { socket.localAddress.port }

    // MARK: Data path

    /// Device → peers.
    public func tunReadable(now: Nanoseconds) throws(SystemError) {
        let room = headroom
        try tun.readPackets(limit: 64, headroom: room) { region in
            guard let hub, let id = destination(of: UnsafeRawBufferPointer(rebasing: region[room...])) else {
                drops.record(.noRoute); return
            }
            guard hub.peers[Int(id)].endpoint != nil else { drops.record(.peerHasNoEndpoint); return }
            if room > 0 { LanyardMessage.writeHeader(.frame, bodyLength: region.count - room, into: region) }
            hub.send(UnsafeRawBufferPointer(region), to: id, now: now)
        }
        hub?.flush()
    }

    @inline(__always)
    private func destination(of packet: UnsafeRawBufferPointer) -> PortID? {
        switch role {
        case .tunnel: tunnelPeer
        case .interface: routes.lookup(destinationOf: packet).map { PortID($0) }
        }
    }

    /// Peers → device: IP packets whose source the sending peer may use; a TAP tunnel's frames.
    public func socketReadable(now: Nanoseconds) throws(SystemError) {
        guard let hub else {
            try io.receiveAll(oversized: {}) { _, _ in drops.record(.unknownPeerKey) }
            return
        }
        try hub.receiveAll(now: now) { plaintext, id in
            if headroom > 0 {
                guard let header = try? LanyardMessage.parse(plaintext), header.kind == .frame else {
                    drops.record(.lanyardMalformed); return
                }
                try? tun.writeCoalescing(UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange]))
                return
            }
            guard let length = IPPacket.length(plaintext), length <= plaintext.count else { drops.record(.notAnIPPacket); return }
            let packet = UnsafeRawBufferPointer(rebasing: plaintext[0..<length])
            guard sourceAllowed(packet, from: id) else { drops.record(.sourceNotAllowed); return }
            try? tun.writeCoalescing(packet)
        }
        try tun.flushWrites()
    }

    /// Whether peer `id` may send from `packet`'s source (cryptokey routing). The last IPv4
    /// source found allowed is remembered: a flow's packets come in runs, and the lookup in the
    /// table is then one comparison.
    @inline(__always)
    private func sourceAllowed(_ packet: UnsafeRawBufferPointer, from id: PortID) -> Bool {
        if packet[0] >> 4 == 4, packet.count >= 20 {
            let source = packet.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
            if let last = lastAllowedSource, last.address == source, last.peer == id { return true }
            guard routes.lookup(sourceOf: packet) == id else { return false }
            lastAllowedSource = (source, id)
            return true
        }
        return routes.lookup(sourceOf: packet) == id
    }

    /// Starts a handshake at once with every peer whose endpoint is known (a tunnel does, rather
    /// than on the first packet; the drop-in, like wireguard-go, waits for traffic).
    public func connect(now: Nanoseconds) {
        guard let hub else { return }
        for p in peers where p.endpoint != nil {
            if let id = hub.directory.id(of: p.publicKey) { hub.initiateHandshake(id, now: now) }
        }
        hub.flush()
    }

    /// Handshake retries, rekeying, keepalives; a log line when a peer's session comes or goes.
    public func tick(now: Nanoseconds) {
        guard let hub else { return }
        hub.housekeeping(now: now, silenceTimeout: .max) { _ in }
        guard now >= nextSessionCheck else { return }
        nextSessionCheck = now &+ .seconds(0.25)
        for i in peers.indices {
            guard let id = hub.directory.id(of: peers[i].publicKey) else { continue }
            if !peers[i].endpointLogged, let endpoint = hub.peers[Int(id)].endpoint {
                // Learned from the peer's first datagram, or configured (later moves are logged
                // by the hub as they happen).
                peers[i].endpointLogged = true
                logger.info("peer \(peers[i].publicKey) at \(endpoint)")
            }
            let established = hub.isEstablished(id, now: now)
            guard established != peers[i].wasEstablished else { continue }
            peers[i].wasEstablished = established
            if established {
                logger.notice("handshake with \(peers[i].publicKey) complete; session up")
            } else {
                logger.warning("session with \(peers[i].publicKey) expired; down until the next handshake")
            }
        }
    }
}
