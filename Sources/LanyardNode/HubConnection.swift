import LanyardCore
import LanyardLinux
import Logging

/// One node's encrypted session with its hub (a port's switch, a VPN client's server): the UDP
/// socket, the WireGuard link, registration with keepalives and backoff, and batched sending.
/// The owner (PortNode, ClientNode) handles what arrives inside the session.
public final class HubConnection {
    /// One hub this node may register with: where, and the session with it.
    public struct Choice {
        public let address: String
        public let link: SecureLink
        public let publicKey: String
        public init(address: String, link: SecureLink, publicKey: String) {
            self.address = address
            self.link = link
            self.publicKey = publicKey
        }
    }

    let io: BatchedSocket
    /// The session with the current hub.
    private(set) var link: SecureLink
    let logger: Logger
    /// HOST:PORT of the current hub as the user gave it (re-resolved on retries).
    private(set) var hubAddress: String
    var endpoint: SocketAddress
    /// Every hub this node may use (a port given several switches of one network), in the
    /// order given; `current` is the one in use. Each connection (the first, and after the hub
    /// fell silent) probes all of them and takes the nearest that answers (`NearestHub`); a
    /// registered node never probes, so a hub that comes back makes nobody move.
    private var choices: [Choice]
    private(set) var current = 0
    /// Times this connection moved to another hub.
    public private(set) var moves: UInt64 = 0
    /// While connecting to one of several hubs: the handshakes sent to all of them, and where
    /// each is (resolved when the probe started). Nil once one was chosen.
    private var probe: NearestHub?
    private var probeEndpoints: [SocketAddress?] = []
    /// When the probe's handshakes were sent: only a handshake completed after it is an answer.
    private var probeStarted: Nanoseconds = 0
    var registration: Registration
    var traffic = TrafficCounters()
    var drops = ReasonCounters<DatagramDropReason>()
    private var helloSentForHandshake: Nanoseconds?
    private let helloBody: [UInt8]
    private var pingSequence: UInt64 = 0
    /// Set when the socket's local port is ours to choose (an ephemeral one): after the hub has not
    /// answered a few handshakes, and this says nothing else arrives either, the socket moves to
    /// a new local port, in case a NAT on the way holds a stale mapping (its public address
    /// changed, and the flow it keeps refreshing goes on using the old one).
    public var mayRebind: (() -> Bool)?
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 64)

    public init(hubAddress: String, endpoint: SocketAddress, io: BatchedSocket, link: SecureLink,
                registration: Registration, helloBody: [UInt8], logger: Logger, publicKey: String = "", others: [Choice] = []) {
        self.hubAddress = hubAddress
        self.io = io
        self.endpoint = io.socket.adapt(endpoint)
        self.link = link
        choices = [Choice(address: hubAddress, link: link, publicKey: publicKey)] + others
        self.registration = registration
        self.helloBody = helloBody
        self.logger = logger
    }

    public convenience init(hubAddress: String, endpoint: SocketAddress, socket: UDPSocket, link: SecureLink,
                            registration: Registration, helloBody: [UInt8], logger: Logger) {
        self.init(hubAddress: hubAddress, endpoint: endpoint, io: BatchedSocket(socket), link: link,
                  registration: registration, helloBody: helloBody, logger: logger)
    }

    deinit { scratch.deallocate() }

    /// Receives every waiting datagram; authenticated non-empty plaintext goes to `deliver`.
    public func receive(now: Nanoseconds, deliver: (UnsafeRawBufferPointer) -> Void) throws(SystemError) {
        try io.receiveAll(oversized: { drops.record(.oversized) }) { bytes, sender in
            handle(bytes, from: sender, now: now, deliver: deliver)
        }
    }

    /// Handles one datagram from the socket (the owner may share the socket with other sessions).
    func handle(_ bytes: UnsafeRawBufferPointer, from sender: () -> SocketAddress, now: Nanoseconds,
                        deliver: (UnsafeRawBufferPointer) -> Void) {
        let from = sender()
        guard from == endpoint else {
            if probe != nil, let k = probeEndpoints.firstIndex(of: from) { probeAnswer(bytes, from: k, now: now) } else { drops.record(.unexpectedSender) }
            return
        }
        if case .failure(let box) = WireMessage.classify(bytes) { drops.record(box.reason); return }
        let out = WireMessage.output(for: bytes, scratch: scratch)
        switch link.open(bytes, into: out, now: now) {
        case .drop(let reason): drops.record(reason)
        case .none: registration.heard(now: now)
        case .send(let n):
            registration.heard(now: now)
            enqueue(UnsafeRawBufferPointer(rebasing: out[0..<n]))
        case .deliver(let n):
            registration.heard(now: now)
            traffic.received(bytes.count)
            if n > 0 { deliver(UnsafeRawBufferPointer(rebasing: out[0..<n])) }
        }
        if probe != nil, answeredProbe(link) { probe?.answered(current, now: now) }
        settleProbe(now: now)
        sendHelloIfNeeded(now: now)
        drain(now: now)
    }

    /// Whether `address` is one of the hubs being probed (the owner routes their datagrams here).
    public func isProbed(_ address: SocketAddress) -> Bool { probe != nil && probeEndpoints.contains(address) }

    /// A handshake answer from hub `k`, probed but not (yet) the current one: a response, or
    /// a cookie reply (that hub is under load: the handshake goes again, with the cookie).
    private func probeAnswer(_ bytes: UnsafeRawBufferPointer, from k: Int, now: Nanoseconds) {
        let type: UInt8
        switch WireMessage.classify(bytes) {
        case .success(let t) where t == WireMessage.response || t == WireMessage.cookieReply: type = t
        default: drops.record(.unexpectedSender); return
        }
        let link = choices[k].link
        if case .drop(let reason) = link.open(bytes, into: scratch, now: now) { drops.record(reason); return }
        if type == WireMessage.cookieReply, let to = probeEndpoints[k], case .send(let n) = link.initiateHandshake(into: scratch, now: now) {
            io.enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), to: to)
            return
        }
        if answeredProbe(link) { probe?.answered(k, now: now) }
        settleProbe(now: now)
    }

    /// Whether `link` completed a handshake since the probe was sent (not an older session).
    private func answeredProbe(_ link: SecureLink) -> Bool {
        guard let done = link.lastHandshake else { return false }
        return done >= probeStarted
    }

    /// Once the probe has its answer: the nearest hub becomes the current one, and `hello` goes to it.
    private func settleProbe(now: Nanoseconds) {
        guard let p = probe else { return }
        if registration.isRegistered { probe = nil; return }   // welcomed meanwhile: stay
        guard let k = p.choice(now: now) else { return }
        probe = nil
        let rtt = p.roundTrip(k).map { String(format: "%.1f ms", Double($0) / 1e6) } ?? "?"
        if k != current { select(k, at: probeEndpoints[k]) }
        logger.notice("\(hubAddress) is the nearest of \(choices.count) switches that answered (round trip \(rtt))")
        sendHelloIfNeeded(now: now)
    }

    /// Runs registration timers and the link's timers. Returns `.lostHub` when the hub fell silent.
    @discardableResult
    public func tick(now: Nanoseconds) -> Registration.Action? {
        let action = registration.tick(now: now)
        switch action {
        case .startHandshake(let attempt): startHandshake(attempt: attempt, now: now)
        case .ping:
            pingSequence &+= 1
            LanyardMessage.encode(.ping, body: LanyardMessage.encodeUInt64(pingSequence)).withUnsafeBytes { seal($0, now: now) }
        case .lostHub(let silence):
            // With several hubs, the next attempt probes them all (the silent one among them).
            logger.warning("no answer from \(hubAddress) for \(seconds(silence)) s: connecting again")
        case nil: break
        }
        settleProbe(now: now)
        sendHelloIfNeeded(now: now)
        drain(now: now)
        flush()
        return action
    }

    /// Makes hub `k` the current one, at `address` (nil: where it was).
    private func select(_ k: Int, at address: SocketAddress?) {
        logger.notice("moving from \(hubAddress) to \(choices[k].address)")
        current = k
        let next = choices[k]
        hubAddress = next.address
        link = next.link
        moves &+= 1
        helloSentForHandshake = nil
        if let address { endpoint = address }
    }

    /// The current hub's public key (base64), for status.
    public var currentHubKey: String { choices[current].publicKey }

    private func startHandshake(attempt: Int, now: Nanoseconds) {
        if attempt > 1, attempt % 2 == 1, mayRebind?() == true {
            let old = io.socket.localAddress.port
            do {
                try io.socket.rebind()
                logger.notice("moved from local UDP port \(old) to \(io.socket.localAddress.port): a NAT on the way may hold a stale mapping")
            } catch {
                logger.warning("could not move to a new local UDP port: \(error)")
            }
        }
        // With several hubs, every try goes to all of them: the nearest that answers is chosen.
        if choices.count > 1 {
            probeAll(attempt: attempt, now: now)
            return
        }
        if attempt > 1 {
            logger.warning("\(hubAddress) not answering (attempt \(attempt)); next try in \(seconds(registration.backoff(after: attempt))) s")
            if let fresh = try? SocketAddress.resolve(hubAddress), io.socket.adapt(fresh) != endpoint {
                logger.notice("\(hubAddress) now resolves to \(fresh)")
                endpoint = io.socket.adapt(fresh)
            }
        } else {
            logger.info("connecting to \(hubAddress) (\(endpoint))")
        }
        helloSentForHandshake = nil
        if case .send(let n) = link.initiateHandshake(into: scratch, now: now) {
            enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
        }
    }

    /// Sends a handshake initiation to every hub at once (see `NearestHub`).
    private func probeAll(attempt: Int, now: Nanoseconds) {
        if attempt > 1 {
            logger.warning("none of \(choices.count) switches answering (attempt \(attempt)); next try in \(seconds(registration.backoff(after: attempt))) s")
        } else {
            logger.info("connecting to the nearest of \(choices.map(\.address).joined(separator: ", "))")
        }
        probeEndpoints = choices.map { c in (try? SocketAddress.resolve(c.address)).map { io.socket.adapt($0) } }
        probe = NearestHub(count: choices.count, now: now)
        probeStarted = now
        helloSentForHandshake = nil
        for (k, c) in choices.enumerated() {
            guard let to = probeEndpoints[k], case .send(let n) = c.link.initiateHandshake(into: scratch, now: now) else { continue }
            io.enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), to: to)
        }
    }

    /// After each new session, announce ourselves with `hello` until welcomed.
    private func sendHelloIfNeeded(now: Nanoseconds) {
        guard !registration.isRegistered, probe == nil, link.isEstablished(now: now), let handshake = link.lastHandshake,
              helloSentForHandshake != handshake else { return }
        helloSentForHandshake = handshake
        LanyardMessage.encode(.hello, body: helloBody).withUnsafeBytes { seal($0, now: now) }
    }

    /// Tells the hub we are leaving (best effort) and sends it now.
    public func sayGoodbye(now: Nanoseconds) {
        guard link.isEstablished(now: now) else { return }
        LanyardMessage.encode(.bye).withUnsafeBytes { seal($0, now: now) }
        flush()
    }

    /// Encrypts one plaintext into the outgoing batch.
    public func seal(_ plaintext: UnsafeRawBufferPointer, now: Nanoseconds) {
        switch io.seal(plaintext, on: link, to: endpoint, now: now) {
        case .send(let n): traffic.sent(n)
        case .drop(let reason): drops.record(reason)
        case .none, .deliver: break
        }
    }

    private func drain(now: Nanoseconds) { io.drain(link, to: endpoint, now: now) }

    private func enqueue(_ bytes: UnsafeRawBufferPointer) { io.enqueue(bytes, to: endpoint) }

    /// Sends the outgoing batch.
    public func flush() { io.flush() }

    /// A snapshot for `lanyard status`.
    func status(kind: String, name: String, interface: String, now: Nanoseconds, publicKey: String, peerPublicKey: String) -> LinkStatus {
        LinkStatus(kind: kind, name: name, interface: interface, publicKey: publicKey,
                   peerPublicKey: peerPublicKey, endpoint: endpoint.description,
                   state: registration.isRegistered ? "registered" : "connecting",
                   lastHandshakeSeconds: link.lastHandshake.map { seconds(now &- $0) },
                   lastHeardSeconds: registration.lastHeard == 0 ? nil : seconds(now &- registration.lastHeard),
                   traffic: traffic, drops: countsByName(drops.nonZero))
    }
}
