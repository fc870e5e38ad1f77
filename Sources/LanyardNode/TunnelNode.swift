import LanyardCore
import LanyardLinux
import LanyardWireGuard
import Logging

/// A point-to-point tunnel: one peer, one TUN (IP) or TAP (Ethernet) device, one UDP socket.
///
/// In TUN mode the plaintext is a bare IP packet, exactly as WireGuard carries it, so the peer may
/// be a stock WireGuard implementation. In TAP mode the plaintext is a Lanyard frame message, so
/// both ends must be Lanyard. The peer's endpoint may be unknown at start: it is learned (and
/// follows roaming) from every authenticated datagram.
public final class TunnelNode {
    let device: TunDevice
    let io: BatchedSocket
    let link: SecureLink
    let logger: Logger
    /// Inner source addresses accepted from the peer (TUN mode), WireGuard's allowed IPs.
    let allowedSources: [IPPrefix]
    var endpoint: SocketAddress?
    var lastHeard: Nanoseconds = 0
    var traffic = TrafficCounters()
    var drops = ReasonCounters<DatagramDropReason>()
    var wasEstablished = false
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 64)
    /// With more than one crypto thread: each received batch's data messages, decrypted together.
    let parallelOpens: ParallelOpens<(sender: SocketAddress, out: UnsafeMutableRawBufferPointer, count: Int)>?

    /// A tunnel; with `workers` of more than one thread, packets are sealed and opened a batch at
    /// a time on all of them, and delivered in their order.
    public init(device: TunDevice, socket: UDPSocket, endpoint: SocketAddress?, link: SecureLink,
                allowedSources: [IPPrefix], logger: Logger, workers: CryptoWorkers? = nil) {
        self.device = device
        io = BatchedSocket(socket)
        self.endpoint = endpoint.map { socket.adapt($0) }
        self.link = link
        self.allowedSources = allowedSources
        self.logger = logger
        if let workers, workers.threads > 1 {
            io.useCryptoWorkers(workers)
            parallelOpens = ParallelOpens(workers: workers)
        } else {
            parallelOpens = nil
        }
    }

    deinit {
        scratch.deallocate()
    }

    private var headerRoom: Int { device.mode == .tap ? LanyardMessage.headerLength : 0 }

    /// Starts a handshake at once when the endpoint is known (rather than on the first packet).
    public func start(now: Nanoseconds) {
        guard endpoint != nil else {
            logger.info("no endpoint given: waiting for the peer to connect")
            return
        }
        if case .send(let n) = link.initiateHandshake(into: scratch, now: now) {
            enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
        }
        flush()
    }

    /// Device → peer.
    public func deviceReadable(now: Nanoseconds) throws(SystemError) {
        let room = headerRoom
        try device.readPackets(limit: 64, headroom: room) { region in
            guard endpoint != nil else { return }
            if room > 0 { LanyardMessage.writeHeader(.frame, bodyLength: region.count - room, into: region) }
            seal(UnsafeRawBufferPointer(region), now: now)
        }
        drain(now: now)
        flush()
    }

    /// Peer → device.
    public func socketReadable(now: Nanoseconds) throws(SystemError) {
        if let parallelOpens {
            try io.receiveAll(oversized: { drops.record(.oversized) }, batchDone: {
                parallelOpens.finish(now: now) { action, c in
                    opened(action, type: WireMessage.transportData, out: c.out, count: c.count, from: c.sender, now: now)
                }
            }) { bytes, sender in
                // Data messages wait for the batch's decryption; anything else is handled at once.
                if case .failure(let box) = WireMessage.classify(bytes) { drops.record(box.reason); return }
                let out = WireMessage.output(for: bytes, scratch: scratch)
                let from = sender()
                if let action = parallelOpens.begin(bytes, into: out, on: link, now: now, context: (from, out, bytes.count)) {
                    opened(action, type: bytes[0], out: out, count: bytes.count, from: from, now: now)
                }
            }
        } else {
            try io.receiveAll(oversized: { drops.record(.oversized) }) { bytes, sender in
                handle(bytes, from: sender, now: now)
            }
        }
        try device.flushWrites()
    }

    private func handle(_ bytes: UnsafeRawBufferPointer, from sender: () -> SocketAddress, now: Nanoseconds) {
        if case .failure(let box) = WireMessage.classify(bytes) { drops.record(box.reason); return }
        let out = WireMessage.output(for: bytes, scratch: scratch)
        opened(link.open(bytes, into: out, now: now), type: bytes[0], out: out, count: bytes.count, from: sender(), now: now)
    }

    /// What follows an open of a message of `type`: counts, the peer's endpoint, delivery, and
    /// whatever the link sends. A cookie reply is not proof that the peer is at its source
    /// address (whoever saw our initiation can make one): it neither moves the endpoint nor
    /// counts as hearing from the peer.
    private func opened(_ action: LinkAction, type: UInt8, out: UnsafeMutableRawBufferPointer, count: Int, from: SocketAddress,
                        now: Nanoseconds) {
        switch action {
        case .drop(let reason): drops.record(reason); return
        case .none, .send, .deliver: break
        }
        if type != WireMessage.cookieReply {
            if endpoint != from {
                logger.info("peer endpoint is now \(from)")
                endpoint = from
            }
            lastHeard = now
            traffic.received(count)
        }
        if case .send(let n) = action { enqueue(UnsafeRawBufferPointer(rebasing: out[0..<n])) }
        if case .deliver(let n) = action, n > 0 { deliver(UnsafeRawBufferPointer(rebasing: out[0..<n])) }
        noteHandshake(now: now)
        drain(now: now)
    }

    private func deliver(_ plaintext: UnsafeRawBufferPointer) {
        if device.mode == .tap {
            guard let header = try? LanyardMessage.parse(plaintext), header.kind == .frame else {
                drops.record(.lanyardMalformed); return
            }
            try? device.writeCoalescing(UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange]))
            return
        }
        guard let length = IPPacket.length(plaintext) else { drops.record(.notAnIPPacket); return }
        let packet = UnsafeRawBufferPointer(rebasing: plaintext[0..<length])
        guard allowedSources.contains(where: { $0.containsSource(ofPacket: packet) }) else {
            drops.record(.sourceNotAllowed); return
        }
        try? device.writeCoalescing(packet)
    }

    /// Timers: keepalives, rekeying, handshake retries.
    public func tick(now: Nanoseconds) {
        drain(now: now)
        noteHandshake(now: now)
        flush()
    }

    private func noteHandshake(now: Nanoseconds) {
        let established = link.isEstablished(now: now)
        if established != wasEstablished {
            wasEstablished = established
            if established { logger.notice("handshake complete; tunnel up") } else { logger.warning("session expired; tunnel down until the next handshake") }
        }
    }

    private func seal(_ plaintext: UnsafeRawBufferPointer, now: Nanoseconds) {
        guard let endpoint else { return }
        switch io.seal(plaintext, on: link, to: endpoint, now: now) {
        case .send(let n): traffic.sent(n)
        case .drop(let reason): drops.record(reason)
        case .none, .deliver: break
        }
    }

    private func drain(now: Nanoseconds) {
        if let endpoint { io.drain(link, to: endpoint, now: now) }
    }

    private func enqueue(_ bytes: UnsafeRawBufferPointer) {
        if let endpoint { io.enqueue(bytes, to: endpoint) }
    }

    private func flush() { io.flush() }

    /// A snapshot for `lanyard status`.
    public func status(now: Nanoseconds, name: String, publicKey: String, peerPublicKey: String) -> LinkStatus {
        var s = LinkStatus(kind: "tunnel", name: name, interface: device.name, publicKey: publicKey,
                   peerPublicKey: peerPublicKey, endpoint: endpoint?.description,
                   state: link.isEstablished(now: now) ? "up" : "handshaking",
                   lastHandshakeSeconds: link.lastHandshake.map { seconds(now &- $0) },
                   lastHeardSeconds: lastHeard == 0 ? nil : seconds(now &- lastHeard),
                   traffic: traffic, drops: countsByName(drops.nonZero))
        device.addDrops(to: &s.drops)
        s.batching = io.batching
        return s
    }
}
