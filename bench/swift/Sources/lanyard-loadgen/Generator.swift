import Glibc
import LanyardCore
import LanyardWireGuard

/// Drives all simulated ports from one thread: a few shared sockets (`PortSockets`) watched by
/// epoll, datagrams sent and received in batches, each reply handed to the port it was addressed
/// to. The phases are in extensions (join, frames, churn, directory); this file holds what they
/// share.
final class Generator {
    let ports: [SimulatedPort]
    let switchKey: PublicKey
    let allocator: IndexAllocator
    let sockets: PortSockets
    let poller: Poller
    let outbox: Outbox
    private let inbox = Inbox()
    let buffers = Buffers()
    let hello = LanyardMessage.encode(.hello)
    let bye = LanyardMessage.encode(.bye)
    /// The interval the switch's welcome asks keepalives at.
    private(set) var keepaliveInterval = Timestamp.Duration.seconds(5)
    /// Bytes of each frame of the frame phase (also the rejoined ports' first frame).
    var frameBytes = 1000
    private var lastHousekeeping = Timestamp(nanoseconds: 0)

    var join = JoinCounters()
    var traffic = TrafficCounters()
    var churn = ChurnCounters()
    var directory = DirectoryCounters()
    /// The real `lanyard port` the directory scenario's ports meet instead of their partners
    /// (`--real-port`): its key, which they look it up by, and its TAP device's MAC, which each
    /// sends one frame to once its path is direct.
    var realPort: (key: PublicKey, mac: MACAddress)?

    init(ports: [SimulatedPort], switchKey: PublicKey, allocator: IndexAllocator, sockets: PortSockets,
         poller: Poller, switchPort: UInt16) {
        self.ports = ports
        self.switchKey = switchKey
        self.allocator = allocator
        self.sockets = sockets
        self.poller = poller
        outbox = Outbox(switchAddress: AddressPlan.switchSocketAddress(port: switchPort))
        for (i, fd) in sockets.descriptors.enumerated() { poller.add(fd, tag: i) }
    }

    /// Whether a termination signal arrived (every phase stops soon after).
    var interrupted: Bool { poller.interrupted }

    /// Registered ports whose partner is registered too.
    var pairedPorts: [SimulatedPort] { ports.filter { $0.state == .registered && ports[$0.partner].state == .registered } }

    // MARK: Sending

    /// Queues a handshake for `port` with a hello behind it (sent as the session's confirmation).
    func begin(_ port: SimulatedPort, now: Timestamp) {
        port.state = .handshaking
        port.attempts = 1
        port.lastAttemptAt = now
        hello.withUnsafeBytes { _ = send($0, from: port, now: now) }
    }

    /// Seals `plaintext` for `port` (or starts its handshake, holding the plaintext) and queues
    /// the result. False if nothing went out.
    @discardableResult
    func send(_ plaintext: UnsafeRawBufferPointer, from port: SimulatedPort, now: Timestamp) -> Bool {
        commit(port.peer.encapsulate(plaintext: plaintext, into: outbox.reserve(), now: now), from: port, now: now)
    }

    /// Writes a frame of `frameBytes` (of `etherType`) from `port` to `destination` in place and
    /// queues it sealed: on the port's direct session (with its partner or the real port) once it
    /// has one, else to the switch (only that session needs keepalives, so only it moves
    /// `lastSentAt`).
    @discardableResult
    func sendFrame(from port: SimulatedPort, to destination: MACAddress, frameBytes: Int, etherType: UInt16 = Buffers.ipv4,
                   now: Timestamp) -> Bool {
        let direct = port.link.flatMap { $0.isDirect ? $0 : nil }
        let slot = outbox.reserve()
        let body = UnsafeMutableRawBufferPointer(rebasing: slot[MessageLayout.transportHeaderSize...])
        let count = Buffers.writeFrame(from: port.mac, to: destination, frameBytes: frameBytes, etherType: etherType, into: body)
        // Sealed in place: the plaintext already sits where the ciphertext goes.
        let plaintext = UnsafeRawBufferPointer(rebasing: body[0..<count])
        guard let direct else { return commit(port.peer.encapsulate(plaintext: plaintext, into: slot, now: now), from: port, now: now) }
        guard case .writeToNetwork(let n) = direct.peer.encapsulate(plaintext: plaintext, into: slot, now: now) else { return false }
        outbox.commit(n, fromPort: port.index, socket: port.socket, to: direct.endpoint)
        return true
    }

    /// Queues the outbox's reserved buffer (for the switch) if `result` says it holds a datagram.
    @discardableResult
    func commit(_ result: PeerResult, from port: SimulatedPort, now: Timestamp) -> Bool {
        guard case .writeToNetwork(let count) = result else { return false }
        outbox.commit(count, fromPort: port.index, socket: port.socket)
        port.lastSentAt = now
        return true
    }

    // MARK: Receiving

    /// Sends what is queued, waits at most `milliseconds` for replies, handles them and sends
    /// what that produced. Returns how many sockets were readable.
    @discardableResult
    func pump(milliseconds: Int32) -> Int {
        outbox.flush()
        let ready = poller.wait(milliseconds: milliseconds) { receive(onSocket: $0) }
        outbox.flush()
        return ready
    }

    /// Handles up to 4 batches from one socket (the rest waits for the next round, so that one
    /// busy socket does not starve the others).
    private func receive(onSocket i: Int) {
        let fd = sockets.descriptors[i]
        for _ in 0..<4 {
            let n = inbox.receive(from: fd)
            let now = Clock.now()
            for k in 0..<n {
                let (bytes, index, sender) = inbox.datagram(k)
                guard let bytes, let index, index < ports.count else { traffic.strays += 1; continue }
                let port = ports[index]
                // From another port (simulated, or the real one on its own socket): not from the switch.
                if sender != nil || !inbox.senderAddress(k).isSameEndpoint(as: outbox.switchAddress) {
                    handleOnLink(bytes, for: port, from: inbox.senderAddress(k), now: now)
                } else if RelayHeader.isRelay(bytes) {
                    relayed(bytes, for: port, now: now)
                } else {
                    handle(bytes, for: port, now: now)
                }
            }
            if n < Inbox.capacity { break }
        }
    }

    /// A datagram from the switch on the port's own session with it.
    private func handle(_ datagram: UnsafeRawBufferPointer, for port: SimulatedPort, now: Timestamp) {
        let isCookieReply = datagram.count == MessageLayout.cookieReplySize && datagram[0] == MessageType.cookieReply.rawValue
        switch port.peer.decapsulate(datagram: datagram, into: buffers.output, now: now) {
        case .writeToNetwork(let count):
            // A response: the queued hello went out sealed as the confirmation.
            outbox.enqueue(UnsafeRawBufferPointer(rebasing: buffers.output[0..<count]), fromPort: port.index, socket: port.socket)
            port.lastSentAt = now
            if port.state == .handshaking {
                port.state = .awaitingWelcome
                if port.rejoinStartedAt == nil {
                    join.handshakesCompleted += 1
                    join.lastHandshakeAt = now
                }
            }
            while port.peer.hasQueuedPackets, commit(port.peer.dequeue(into: outbox.reserve(), now: now), from: port, now: now) {}
        case .writeToTunnel(let count):
            handlePlaintext(UnsafeRawBufferPointer(rebasing: buffers.output[0..<count]), on: port, now: now)
        case .done:
            if isCookieReply && port.state == .handshaking {
                // The switch is under load: resend the initiation, now with mac2.
                join.cookieReplies += 1
                commit(port.peer.initiateHandshake(into: outbox.reserve(), now: now), from: port, now: now)
            }
        case .error:
            if port.hasChurned { traffic.stale += 1 } else { traffic.refused += 1 }
        }
    }

    /// A Lanyard message from the switch: welcome, a switched frame, or a member's description.
    private func handlePlaintext(_ plaintext: UnsafeRawBufferPointer, on port: SimulatedPort, now: Timestamp) {
        guard let header = try? LanyardMessage.parse(plaintext) else { return }
        switch header.kind {
        case .welcome:
            guard port.isJoining else { return }
            port.state = .registered
            if let welcome = try? LanyardMessage.Welcome(parsing: UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])) {
                keepaliveInterval = .seconds(UInt64(welcome.keepaliveSeconds))
                port.memberID = welcome.directory?.memberID
                port.relay = welcome.directory.map { RelayTagger(key: $0.relayKey) }
            }
            if port.rejoinStartedAt != nil {
                rejoined(port, now: now)
            } else {
                join.registered += 1
                join.lastRegistrationAt = now
            }
        case .frame:
            frameArrived(UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange]), at: port)
        case .member:
            guard let info = try? MemberInfo(parsing: UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])) else { return }
            introduced(info, to: port, now: now)
        default:
            break
        }
    }

    /// Counts a frame that reached `port` (from the switch or on a direct session).
    func frameArrived(_ frame: UnsafeRawBufferPointer, at port: SimulatedPort) {
        guard frame.count >= 14 else { return }
        guard MACAddress(bytes: frame, offset: 0) == port.mac else {
            traffic.otherFramesReceived += 1
            return
        }
        traffic.unicastReceived += 1
        port.framesReceived += 1
        if !port.isSending { partnerReturned(port, source: MACAddress(bytes: frame, offset: 6)) }
    }

    // MARK: Timers

    /// Every 100 ms: retries ports with no answer for a second (5 attempts, then they fail), and
    /// sends a keepalive for registered ports silent for a keepalive interval, so the switch does
    /// not drop them (its silence timeout) while they wait for the next phase.
    func housekeeping(now: Timestamp) {
        guard now.since(lastHousekeeping) >= .milliseconds(100) else { return }
        lastHousekeeping = now
        for port in ports {
            if port.state == .registered {
                if now.since(port.lastSentAt) >= keepaliveInterval,
                   send(UnsafeRawBufferPointer(start: nil, count: 0), from: port, now: now) {
                    traffic.keepalivesSent += 1
                }
                if port.isMeetingPartner { directoryTimers(port, now: now) }
            } else if port.isJoining && now.since(port.lastAttemptAt) >= .seconds(1) {
                retry(port, now: now)
            }
        }
    }

    private func retry(_ port: SimulatedPort, now: Timestamp) {
        guard port.attempts < 5 else {
            port.state = .failed
            if port.rejoinStartedAt != nil {
                port.rejoinStartedAt = nil
                churn.rejoinFailed += 1
            } else {
                join.failed += 1
            }
            return
        }
        port.attempts += 1
        port.lastAttemptAt = now
        if port.state == .handshaking {
            commit(port.peer.initiateHandshake(into: outbox.reserve(), now: now), from: port, now: now)
        } else {
            hello.withUnsafeBytes { _ = send($0, from: port, now: now) }
        }
    }

    /// Handles arrivals (and timers) until `seconds` pass.
    func drain(seconds: Double) {
        let end = Clock.now().adding(.init(nanoseconds: UInt64(seconds * 1e9)))
        while !interrupted {
            let now = Clock.now()
            if now >= end { break }
            housekeeping(now: now)
            pump(milliseconds: 10)
        }
    }
}
