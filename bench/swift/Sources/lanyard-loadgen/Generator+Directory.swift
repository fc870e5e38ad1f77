import Glibc
import LanyardCore
import LanyardWireGuard

/// The directory scenario, as docs/DIRECT-PATHS.md describes it and PortNode does it: port 2k
/// asks the switch about its partner (`lookup` by member id); the switch answers with `member`
/// (key, MACs, the address it sees) and tells the partner (`member`, rendezvous); 2k starts an
/// end-to-end handshake through the blind relay; once the session is up each side probes the
/// other's address with `ping` and a `pong` from there makes the path direct. Frames then go
/// port to port, not through the switch.
///
/// With a real port (`realPort`), ports meet it instead of their partners, as any member would:
/// the lookup is by its key, the switch's rendezvous makes it accept the port, the port's
/// probes keep coming every 2 s once the path is direct (an active member's heartbeat, which
/// keeps the path trusted on both sides), and each port sends it one frame on the direct path.
extension Generator {
    /// The ports that start a meeting: the first `count` registered ports, each to meet the real
    /// port; without one, port 2k of each registered pair.
    func askers(count: Int) -> [SimulatedPort] {
        realPort == nil ? pairedPorts.filter { $0.index % 2 == 0 } : Array(ports.lazy.filter { $0.state == .registered }.prefix(count))
    }

    /// Starts the meetings of `askers` (`window` at most in progress) until each completed or
    /// gave up, `timeout` passes or a signal arrives. Returns the start.
    func meet(_ askers: [SimulatedPort], window: Int, timeout: Double) -> Timestamp {
        runWindowed(askers, window: window, timeout: timeout, finished: { directory.met + directory.gaveUp }) {
            lookUpPartner(of: $0, now: $1)
        }
    }

    /// Asks the switch about the port's counterpart: the real port by its key, or the partner by
    /// its member id.
    private func lookUpPartner(of port: SimulatedPort, now: Timestamp) {
        let request: LookupRequest
        if let realPort {
            request = .publicKey(realPort.key.rawValue)
        } else if let id = ports[port.partner].memberID {
            request = .id(id)
        } else {
            return
        }
        port.lookupSentAt = now
        port.lookupAttempts += 1
        directory.lookupsSent += 1
        LanyardMessage.encode(.lookup, body: request.bytes).withUnsafeBytes { _ = send($0, from: port, now: now) }
    }

    /// The switch described a member to `port`: its counterpart (an answer, or the rendezvous).
    func introduced(_ info: MemberInfo, to port: SimulatedPort, now: Timestamp) {
        if info.isRendezvous {
            directory.rendezvous += 1
        } else {
            directory.answers += 1
            directory.lastAnswerAt = now
        }
        let isCounterpart = realPort.map { info.publicKey == $0.key.rawValue } ?? (info.id == ports[port.partner].memberID)
        guard port.link == nil, isCounterpart, let key = try? PublicKey(rawValue: info.publicKey),
              let endpoint = info.candidates.first.flatMap(DirectLink.socketAddress) else { return }
        let peer = WireGuardPeer(localPrivate: port.key, peerPublic: key, presharedKey: nil, indexAllocator: allocator, wallClock: Clock.wall)
        let link = DirectLink(peer: peer, partnerID: info.id, endpoint: endpoint, initiates: !info.isRendezvous, now: now)
        port.link = link
        // The handshake starts through the relay, kicked by a ping with id 0 (nothing to answer).
        if link.initiates { sendOnLink(port, LanyardMessage.encode(.ping, body: LanyardMessage.encodeUInt64(0)), now: now) }
    }

    // MARK: The port-to-port session

    /// Seals `plaintext` on `port`'s link and queues it: to `address` if given, else to the
    /// partner directly once the path is, else through the relay.
    @discardableResult
    func sendOnLink(_ port: SimulatedPort, _ plaintext: [UInt8], to address: sockaddr_in6? = nil, now: Timestamp) -> Bool {
        guard let link = port.link else { return false }
        let destination = address ?? (link.isDirect ? link.endpoint : nil)
        let room = UnsafeMutableRawBufferPointer(rebasing: outbox.reserve()[(destination == nil ? RelayHeader.length : 0)...])
        let result = plaintext.withUnsafeBytes { link.peer.encapsulate(plaintext: $0, into: room, now: now) }
        guard case .writeToNetwork(let count) = result else { return false }
        queueOnLink(port, count, to: destination)
        return true
    }

    /// Queues `count` bytes sealed on the link in the outbox's reserved buffer: straight to
    /// `destination`, or behind a relay header (written in the 24 bytes left free) to the switch.
    private func queueOnLink(_ port: SimulatedPort, _ count: Int, to destination: sockaddr_in6?) {
        guard let link = port.link else { return }
        if let destination {
            outbox.commit(count, fromPort: port.index, socket: port.socket, to: destination)
        } else if port.relay != nil {
            port.relay?.wrap(outbox.reserve(), to: link.partnerID)
            outbox.commit(RelayHeader.length + count, fromPort: port.index, socket: port.socket)
        }
    }

    /// A port-to-port datagram the switch relayed (its header names the origin).
    func relayed(_ datagram: UnsafeRawBufferPointer, for port: SimulatedPort, now: Timestamp) {
        directory.relayedDatagrams += 1
        guard datagram.count >= RelayHeader.minimumLength, RelayHeader.memberID(datagram) == port.link?.partnerID else {
            traffic.refused += 1
            return
        }
        handleOnLink(UnsafeRawBufferPointer(rebasing: datagram[RelayHeader.length...]), for: port, from: nil, now: now)
    }

    /// A datagram on `port`'s session with its partner: relayed (`address` nil) or straight from
    /// `address`.
    func handleOnLink(_ datagram: UnsafeRawBufferPointer, for port: SimulatedPort, from address: sockaddr_in6?, now: Timestamp) {
        guard let link = port.link else { traffic.refused += 1; return }
        let wasEstablished = link.peer.isSessionEstablished(now: now)
        switch link.peer.decapsulate(datagram: datagram, into: buffers.output, now: now) {
        case .writeToNetwork(let count):
            // A response to the partner's initiation, or our confirmation carrying a queued packet:
            // both go back the way the session runs now.
            let destination = link.isDirect ? link.endpoint : nil
            let room = outbox.reserve()[(destination == nil ? RelayHeader.length : 0)...]
            UnsafeMutableRawBufferPointer(rebasing: room).copyMemory(from: UnsafeRawBufferPointer(rebasing: buffers.output[0..<count]))
            queueOnLink(port, count, to: destination)
            while link.peer.hasQueuedPackets {
                let room = UnsafeMutableRawBufferPointer(rebasing: outbox.reserve()[(destination == nil ? RelayHeader.length : 0)...])
                guard case .writeToNetwork(let n) = link.peer.dequeue(into: room, now: now) else { break }
                queueOnLink(port, n, to: destination)
            }
        case .writeToTunnel(let count):
            linkMessage(UnsafeRawBufferPointer(rebasing: buffers.output[0..<count]), on: port, from: address, now: now)
        case .done:
            break
        case .error:
            traffic.refused += 1
        }
        if !wasEstablished && link.peer.isSessionEstablished(now: now) {
            if link.initiates { directory.handshakes += 1 }
            probe(port, now: now)
        }
    }

    /// `ping`, `pong` and frames on a port-to-port session.
    private func linkMessage(_ plaintext: UnsafeRawBufferPointer, on port: SimulatedPort, from address: sockaddr_in6?, now: Timestamp) {
        guard let link = port.link, let header = try? LanyardMessage.parse(plaintext) else { return }
        let body = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
        switch header.kind {
        case .frame:
            frameArrived(body, at: port)
        case .ping where body.count == 8:
            // A probe (id 0 only kicks the handshake): answered where it came from.
            guard body.contains(where: { $0 != 0 }) else { return }
            sendOnLink(port, LanyardMessage.encode(.pong, body: Array(body)), to: address, now: now)
            if realPort != nil, address != nil, !link.answeredProbe {
                link.answeredProbe = true
                countIfMet(port, now: now)
            }
        case .pong where body.count == 8:
            guard let address, link.isEndpoint(address), !link.isDirect,
                  UInt64(bigEndian: body.loadUnaligned(as: UInt64.self)) == link.probe else { return }
            link.isDirect = true
            if let realPort {
                directory.framesToRealPort += 1
                sendFrame(from: port, to: realPort.mac, frameBytes: Self.learningFrameBytes, etherType: Buffers.experimental, now: now)
            }
            countIfMet(port, now: now)
        default:
            break
        }
    }

    /// Counts `port`'s meeting the moment it completes (called as one of its conditions turns
    /// true, each of which does so once): a pair once both ports have a direct path; a port and
    /// the real port once the port's probe was answered and the real port's reached the port.
    private func countIfMet(_ port: SimulatedPort, now: Timestamp) {
        guard let link = port.link, link.isDirect,
              realPort == nil ? ports[port.partner].link?.isDirect == true : link.answeredProbe else { return }
        directory.met += 1
        directory.lastDirectAt = now
    }

    /// Sends a probe (`ping` with a fresh id) straight to the partner's address.
    private func probe(_ port: SimulatedPort, now: Timestamp) {
        guard let link = port.link else { return }
        link.probe = UInt64.random(in: 1...UInt64.max)
        link.lastAttemptAt = now
        sendOnLink(port, LanyardMessage.encode(.ping, body: LanyardMessage.encodeUInt64(link.probe)), to: link.endpoint, now: now)
    }

    // MARK: Timers

    /// Repeats what went unanswered for a second: the lookup, the handshake (through the relay)
    /// or the probe; gives the meeting up after 5 attempts. With a real port, a direct path is
    /// probed every 2 s, as an active member's is.
    func directoryTimers(_ port: SimulatedPort, now: Timestamp) {
        guard !port.directoryFailed else { return }
        guard let link = port.link else {
            guard let sent = port.lookupSentAt, now.since(sent) >= .seconds(1) else { return }
            if port.lookupAttempts >= 5 { giveUp(port) } else { lookUpPartner(of: port, now: now) }
            return
        }
        if link.isDirect {
            if realPort != nil, now.since(link.lastAttemptAt) >= .seconds(2) { probe(port, now: now) }
            return
        }
        guard now.since(link.lastAttemptAt) >= .seconds(1) else { return }
        guard link.attempts < 5 else { giveUp(port); return }
        link.attempts += 1
        link.lastAttemptAt = now
        if link.peer.isSessionEstablished(now: now) {
            probe(port, now: now)
        } else if link.initiates {
            let room = UnsafeMutableRawBufferPointer(rebasing: outbox.reserve()[RelayHeader.length...])
            if case .writeToNetwork(let count) = link.peer.initiateHandshake(into: room, now: now) { queueOnLink(port, count, to: nil) }
        }
    }

    private func giveUp(_ port: SimulatedPort) {
        port.directoryFailed = true
        if realPort != nil || !ports[port.partner].directoryFailed { directory.gaveUp += 1 }
    }
}
