import LanyardCore
import LanyardLinux
import Logging

/// The network side of a hub with many peers (the switch, the VPN server): one UDP socket, a
/// WireGuard session per authorized peer, endpoints that follow roaming, batched receive and send,
/// silence detection and handshake-flood detection. What is inside the sessions is the owner's.
public final class PeerHub {
    /// One authorized peer's live state.
    public struct Peer {
        let link: SecureLink
        public internal(set) var endpoint: SocketAddress?
        /// Said `hello` (Lanyard peers) or sent authenticated data (stock WireGuard peers).
        public internal(set) var isUp = false
        public internal(set) var upSince: Nanoseconds = 0
        public internal(set) var lastHeard: Nanoseconds = 0
        public internal(set) var traffic = TrafficCounters()
    }

    let directory: PeerDirectory
    let io: BatchedSocket
    let logger: Logger
    public private(set) var peers: [Peer]
    public internal(set) var drops = ReasonCounters<DatagramDropReason>()
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 64)
    private var nextHousekeeping: Nanoseconds = 0
    private var recentInitiations = 0
    private var underLoad = false
    /// Above this many initiations per housekeeping pass (4 per second) the hub demands cookies.
    static let loadThreshold = 64

    public init(directory: PeerDirectory, socket: UDPSocket, logger: Logger) {
        self.directory = directory
        io = BatchedSocket(socket)
        self.logger = logger
        peers = directory.peers.indices.map { Peer(link: directory.link(for: PortID($0))) }
    }

    deinit { scratch.deallocate() }

    public func name(of id: PortID) -> String { directory.peers[Int(id)].name }

    /// Receives every waiting datagram; authenticated non-empty plaintext goes to `deliver`.
    public func receiveAll(now: Nanoseconds, deliver: (UnsafeRawBufferPointer, PortID) -> Void) throws(SystemError) {
        try io.receiveAll(oversized: { drops.record(.oversized) }) { bytes, sender in
            handle(bytes, from: sender, now: now, deliver: deliver)
        }
    }

    private func handle(_ bytes: UnsafeRawBufferPointer, from sender: () -> SocketAddress, now: Nanoseconds, deliver: (UnsafeRawBufferPointer, PortID) -> Void) {
        let type: UInt8
        switch WireMessage.classify(bytes) {
        case .success(let t): type = t
        case .failure(let box): drops.record(box.reason); return
        }
        let id: PortID
        if type == WireMessage.initiation {
            recentInitiations += 1
            let from = sender()
            switch directory.screenInitiation(bytes, sender: from.identityBytes, into: scratch, now: now) {
            case .peer(let p): id = p
            case .reply(let n): io.enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), to: from); return
            case .drop(let reason): drops.record(reason); return
            }
        } else {
            guard let p = directory.peer(owningIndex: WireMessage.receiverIndex(bytes)) else {
                drops.record(.unknownReceiverIndex); return
            }
            id = p
        }
        let out = WireMessage.output(for: bytes, scratch: scratch)
        switch peers[Int(id)].link.open(bytes, into: out, now: now) {
        case .none: authenticated(id, from: sender(), bytes: bytes.count, now: now)
        case .drop(let reason): drops.record(reason); return
        case .send(let n):
            authenticated(id, from: sender(), bytes: bytes.count, now: now)
            io.enqueue(UnsafeRawBufferPointer(rebasing: out[0..<n]), to: peers[Int(id)].endpoint!)
        case .deliver(let n):
            authenticated(id, from: sender(), bytes: bytes.count, now: now)
            if n > 0 { deliver(UnsafeRawBufferPointer(rebasing: out[0..<n]), id) }
        }
        drain(id, now: now)
    }

    /// An authenticated message arrived: the peer's endpoint follows it (roaming, NAT rebinding).
    private func authenticated(_ id: PortID, from address: SocketAddress, bytes: Int, now: Nanoseconds) {
        let i = Int(id)
        if peers[i].endpoint != address {
            if let old = peers[i].endpoint { logger.info("\(name(of: id)) moved from \(old) to \(address)") }
            peers[i].endpoint = address
        }
        peers[i].lastHeard = now
        peers[i].traffic.received(bytes)
    }

    /// Marks a peer up (it said hello, or sent data). Returns true if it was down.
    @discardableResult
    public func markUp(_ id: PortID, now: Nanoseconds) -> Bool {
        guard !peers[Int(id)].isUp else { return false }
        peers[Int(id)].isUp = true
        peers[Int(id)].upSince = now
        logger.info("\(name(of: id)) up from \(peers[Int(id)].endpoint.map(String.init(describing:)) ?? "?")")
        return true
    }

    /// Marks a peer down (it left, or fell silent).
    public func markDown(_ id: PortID) { peers[Int(id)].isUp = false }

    /// Encrypts `plaintext` for peer `id` into the outgoing batch (dropped if it has no endpoint yet).
    public func send(_ plaintext: UnsafeRawBufferPointer, to id: PortID, now: Nanoseconds) {
        guard let endpoint = peers[Int(id)].endpoint else { return }
        if case .send(let n) = io.seal(plaintext, on: peers[Int(id)].link, to: endpoint, now: now) {
            peers[Int(id)].traffic.sent(n)
        }
    }

    /// Timers: handshake-flood detection, each peer's link timers, and silence. `onSilent` is
    /// called (and the peer marked down) for an up peer silent longer than `silenceTimeout`.
    public func housekeeping(now: Nanoseconds, silenceTimeout: Nanoseconds, onSilent: (PortID) -> Void) {
        guard now >= nextHousekeeping else { return }
        nextHousekeeping = now + .seconds(0.25)
        let loaded = recentInitiations > Self.loadThreshold
        if loaded != underLoad {
            underLoad = loaded
            directory.setUnderLoad(loaded)
            logger.notice(loaded ? "handshake flood: demanding cookies" : "handshake load normal again")
        }
        recentInitiations = 0
        for i in peers.indices where peers[i].endpoint != nil {
            if peers[i].isUp && now &- peers[i].lastHeard > silenceTimeout {
                logger.notice("\(name(of: PortID(i))) silent for \(seconds(now &- peers[i].lastHeard)) s: dropped")
                markDown(PortID(i))
                onSilent(PortID(i))
                continue
            }
            drain(PortID(i), now: now)
        }
        flush()
    }

    /// Sends whatever the peer's link has queued (data held during a handshake, timer messages).
    private func drain(_ id: PortID, now: Nanoseconds) {
        guard let endpoint = peers[Int(id)].endpoint else { return }
        io.drain(peers[Int(id)].link, to: endpoint, now: now)
    }

    /// Sends the outgoing batch.
    public func flush() { io.flush() }

    /// Tells every up peer the hub is going away.
    public func sayGoodbye(now: Nanoseconds) {
        LanyardMessage.encode(.bye).withUnsafeBytes { message in
            for i in peers.indices where peers[i].isUp { send(message, to: PortID(i), now: now) }
        }
        flush()
    }

    /// Port rows for status output.
    func statusRows(now: Nanoseconds, macs: (PortID) -> Int) -> [SwitchStatus.Port] {
        peers.indices.map { i in
            let id = PortID(i)
            let p = peers[i]
            return SwitchStatus.Port(
                id: id, name: name(of: id), publicKey: directory.peers[i].publicKey.base64,
                state: p.isUp ? "up" : (p.endpoint == nil ? "never seen" : "down"),
                endpoint: p.endpoint?.description,
                connectedSeconds: p.isUp ? seconds(now &- p.upSince) : nil,
                lastHeardSeconds: p.endpoint == nil ? nil : seconds(now &- p.lastHeard),
                macs: macs(id), traffic: p.traffic)
        }
    }
}
