import LanyardCore
import LanyardLinux
import LanyardWireGuard
#if canImport(Glibc)
import Glibc
#endif

/// A switch among several serving one network (docs/DIRECTORY.md): the switches hold WireGuard
/// sessions with each other and tell each other which members are registered where (`roster`).
/// A lookup for a member at another switch goes to that switch, which introduces the two (the
/// rendezvous crosses switches); a relayed datagram for it goes member → switch → switch →
/// member, still sealed end to end; a broadcast goes to this switch's members and once to every
/// other switch, which passes it only to its own members (split horizon: no loops, no copies).
extension SwitchNode {
    /// Joins the mesh: call once, before the loop runs.
    public func useMesh(_ mesh: SwitchMesh) { self.mesh = mesh }

    /// Everything readable on the mesh socket.
    public func meshReadable(now: Nanoseconds) throws(SystemError) {
        guard let mesh else { return }
        try mesh.hub.receiveAll(now: now, deliver: { self.fromSwitch($0, $1, now: now) })
        hub.flush()
    }

    /// The store's list of switches: sessions start with new ones at once.
    public func applySwitches(_ list: [MeshSwitch], now: Nanoseconds) {
        guard let mesh else { return }
        for slot in mesh.apply(list, now: now) { ping(switch: UInt32(slot), now: now) }
        mesh.hub.flush()
    }

    /// The mesh's timers: pings (which start handshakes), silence, the periodic full roster.
    func meshHousekeeping(now: Nanoseconds) {
        guard let mesh else { return }
        mesh.hub.housekeeping(now: now, silenceTimeout: SwitchMesh.silenceTimeout) { slot in
            logger.warning("switch \(mesh.hub.name(of: slot)) is silent: its members are unreachable through it until it is back")
            mesh.roster.dropPeer(UInt32(slot))
        }
        if now >= mesh.nextPing {
            mesh.nextPing = now &+ SwitchMesh.pingInterval
            for slot in mesh.hub.peers.indices where mesh.hub.peers[slot].isMember { ping(switch: UInt32(slot), now: now) }
        }
        if now >= mesh.nextRoster {
            mesh.nextRoster = now &+ SwitchMesh.rosterInterval
            mesh.roster.expire(now: unixNow())
            for slot in mesh.hub.peers.indices where mesh.hub.peers[slot].isUp { sendRoster(to: UInt32(slot), now: now) }
        }
        mesh.hub.flush()
    }

    private func ping(switch slot: UInt32, now: Nanoseconds) {
        LanyardMessage.encode(.ping, body: LanyardMessage.encodeUInt64(UInt64(now))).withUnsafeBytes { mesh?.send($0, to: slot, now: now) }
    }

    // MARK: Telling the other switches who is here

    /// Member `id` registered here (or left): every other switch is told at once.
    func announce(_ id: PortID, registered: Bool, now: Nanoseconds) {
        guard let mesh else { return }
        if registered { mesh.roster.registeredLocally(id) }
        let update = RosterUpdate([rosterEntry(id, registered: registered, now: now)])
        LanyardMessage.encode(.roster, body: update.bytes).withUnsafeBytes { message in
            for slot in mesh.hub.peers.indices where mesh.hub.peers[slot].isUp { mesh.send(message, to: UInt32(slot), now: now) }
        }
        mesh.hub.flush()
    }

    /// Every member registered here, to switch `slot` (soft state: it lives three refreshes).
    func sendRoster(to slot: UInt32, now: Nanoseconds) {
        guard let mesh else { return }
        var entries: [RosterUpdate.Entry] = []
        func send() {
            LanyardMessage.encode(.roster, body: RosterUpdate(entries).bytes).withUnsafeBytes { mesh.send($0, to: slot, now: now) }
            entries.removeAll(keepingCapacity: true)
        }
        for i in hub.peers.indices where hub.peers[i].isUp {
            entries.append(rosterEntry(PortID(i), registered: true, now: now))
            if entries.count == RosterUpdate.maximum { send() }
        }
        if !entries.isEmpty { send() }
    }

    private func rosterEntry(_ id: PortID, registered: Bool, now: Nanoseconds) -> RosterUpdate.Entry {
        let age = registered ? UInt32(clamping: (now &- hub.peers[Int(id)].upSince) / 1_000_000_000) : 0
        return .init(id: id, registered: registered, ageSeconds: age, publicKey: hub.directory.peers[Int(id)].publicKey.rawValue)
    }

    // MARK: Passing things to another switch

    /// Passes a relayed datagram for member `to` (registered at another switch) there; false if
    /// no other switch holds it.
    func relayAcross(_ bytes: UnsafeRawBufferPointer, from: PortID, to: PortID, now: Nanoseconds) -> Bool {
        guard let mesh, let at = mesh.roster.location(of: to), mesh.isUp(at.peer) else { return false }
        let n = bytes.count
        LanyardMessage.writeHeader(.meshRelay, bodyLength: n, into: mesh.scratch)
        let body = UnsafeMutableRawBufferPointer(rebasing: mesh.scratch[LanyardMessage.headerLength..<(LanyardMessage.headerLength + n)])
        body.copyMemory(from: bytes)
        RelayHeader.setMemberID(at.theirID, in: body)
        body.storeBytes(of: from.littleEndian, toByteOffset: 8, as: UInt32.self)
        mesh.send(UnsafeRawBufferPointer(rebasing: mesh.scratch[0..<(LanyardMessage.headerLength + n)]), to: at.peer, now: now)
        mesh.counters.relayedOut.sent(n)
        return true
    }

    /// Passes a frame message from member `origin` to the switch holding `to` (unicast), or to
    /// every other switch (`to` nil: a flood).
    func frameAcross(_ message: UnsafeRawBufferPointer, origin: PortID, to: PortID?, now: Nanoseconds) {
        guard let mesh else { return }
        var target: UInt32?
        if let to {
            guard let at = mesh.roster.location(of: to), mesh.isUp(at.peer) else { return }
            target = at.peer
        }
        let n = LanyardMessage.headerLength + 4 + message.count
        LanyardMessage.writeHeader(.meshFrame, bodyLength: 4 + message.count, into: mesh.scratch)
        mesh.scratch.storeBytes(of: origin.bigEndian, toByteOffset: LanyardMessage.headerLength, as: UInt32.self)
        UnsafeMutableRawBufferPointer(rebasing: mesh.scratch[(LanyardMessage.headerLength + 4)..<n]).copyMemory(from: message)
        let out = UnsafeRawBufferPointer(rebasing: mesh.scratch[0..<n])
        if let target {
            mesh.send(out, to: target, now: now)
            mesh.counters.framesOut.sent(message.count)
            return
        }
        for slot in mesh.hub.peers.indices where mesh.hub.peers[slot].isUp {
            mesh.send(out, to: UInt32(slot), now: now)
            mesh.counters.framesOut.sent(message.count)
        }
    }

    /// Asks the switch holding `target` to introduce `requester` to it; false if none does.
    func introduceAcross(_ requester: PortID, to target: PortID, now: Nanoseconds) -> Bool {
        guard let mesh, let at = mesh.roster.location(of: target), mesh.isUp(at.peer) else { return false }
        known[Int(target)] = true
        let info = memberInfo(about: requester, rendezvous: true, now: now)
        LanyardMessage.encode(.meshIntroduce, body: bigEndianBytes(at.theirID) + info.bytes).withUnsafeBytes {
            mesh.send($0, to: at.peer, now: now)
        }
        mesh.counters.introductions &+= 1
        return true
    }

    // MARK: What other switches send

    private func fromSwitch(_ plaintext: UnsafeRawBufferPointer, _ slot: PortID, now: Nanoseconds) {
        guard let mesh else { return }
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { mesh.hub.drops.record(.lanyardMalformed); return }
        if mesh.hub.markUp(slot, now: now) { sendRoster(to: slot, now: now) }
        let body = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
        switch header.kind {
        case .ping:
            return
        case .bye:
            logger.notice("switch \(mesh.hub.name(of: slot)) is stopping")
            mesh.hub.markDown(slot)
            mesh.roster.dropPeer(UInt32(slot))
        case .roster:
            guard let update = try? RosterUpdate(parsing: body) else { mesh.hub.drops.record(.lanyardMalformed); return }
            let unix = unixNow()
            for e in update.entries {
                guard let key = try? PublicKey(rawValue: e.publicKey), let ours = hub.directory.id(of: key) else { continue }
                mesh.roster.announce(peer: slot, theirID: e.id, slot: ours, registered: e.registered,
                                     registeredAt: unix - Int64(e.ageSeconds), now: unix)
            }
        case .meshRelay:
            relayFromSwitch(body, slot: slot, now: now)
        case .meshFrame:
            frameFromSwitch(body, slot: slot, now: now)
        case .meshIntroduce:
            introductionFromSwitch(body, slot: slot, now: now)
        default:
            mesh.hub.drops.record(.notAFrame)
        }
    }

    /// A datagram relayed from a member of switch `slot` to one of ours: passed on as a relay
    /// datagram from the origin's id here, exactly as long as it came.
    private func relayFromSwitch(_ body: UnsafeRawBufferPointer, slot: PortID, now: Nanoseconds) {
        guard let mesh else { return }
        guard body.count >= RelayHeader.minimumLength else { mesh.hub.drops.record(.tooShort); return }
        let to = RelayHeader.memberID(body)
        let theirs = body.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard let from = mesh.roster.ourSlot(peer: slot, theirID: theirs) else { mesh.counters.unknownMember &+= 1; return }
        guard Int(to) < hub.peers.count, to != from, hub.peers[Int(to)].isUp, let endpoint = hub.peers[Int(to)].endpoint else {
            hub.drops.record(.relayToUnknownMember); return
        }
        hub.io.forward(body, to: endpoint) { RelayHeader.setMemberID(from, in: $0) }
        mesh.counters.relayedIn.received(body.count)
        relayed.record(from: from, to: to, bytes: body.count, now: now)
    }

    /// A frame from a member of switch `slot`: to our own members only (never back to a switch).
    private func frameFromSwitch(_ body: UnsafeRawBufferPointer, slot: PortID, now: Nanoseconds) {
        guard let mesh else { return }
        guard body.count > 4 + LanyardMessage.headerLength else { mesh.hub.drops.record(.lanyardMalformed); return }
        let theirs = readBigEndianUInt32(body, at: 0)
        guard let origin = mesh.roster.ourSlot(peer: slot, theirID: theirs) else { mesh.counters.unknownMember &+= 1; return }
        let message = UnsafeRawBufferPointer(rebasing: body[4...])
        guard let inner = try? LanyardMessage.parse(message), inner.kind == .frame || inner.kind == .switchedFrame else {
            mesh.hub.drops.record(.lanyardMalformed); return
        }
        var frame = UnsafeRawBufferPointer(rebasing: message[inner.bodyRange])
        if inner.kind == .switchedFrame {
            guard frame.count > 4 else { mesh.hub.drops.record(.lanyardMalformed); return }
            UnsafeMutableRawBufferPointer(mutating: frame).storeBytes(of: origin.bigEndian, toByteOffset: 0, as: UInt32.self)
            frame = UnsafeRawBufferPointer(rebasing: frame[4...])
        }
        mesh.counters.framesIn.received(message.count)
        let trimmed = UnsafeRawBufferPointer(rebasing: message[0..<inner.bodyRange.upperBound])
        switch fabric.decide(frame: frame, ingress: origin, now: now) {
        case .drop: return
        case .unicast(let out):
            if out != origin, hub.peers[Int(out)].isUp { hub.send(trimmed, to: out, now: now) }
        case .flood:
            for out in hub.peers.indices where out != Int(origin) && hub.peers[out].isUp { hub.send(trimmed, to: PortID(out), now: now) }
        }
    }

    /// An introduction from switch `slot`: its member (described) wants a path to ours (the
    /// rendezvous: ours learns of it, and the other switch gets ours' description back), or
    /// the answer to one we asked for (ours learns of theirs).
    private func introductionFromSwitch(_ body: UnsafeRawBufferPointer, slot: PortID, now: Nanoseconds) {
        guard let mesh else { return }
        guard body.count > 4, let info = try? MemberInfo(parsing: UnsafeRawBufferPointer(rebasing: body[4...])) else {
            mesh.hub.drops.record(.lanyardMalformed); return
        }
        let target = readBigEndianUInt32(body, at: 0)
        guard let key = try? PublicKey(rawValue: info.publicKey), let subject = hub.directory.id(of: key), subject != target,
              Int(target) < hub.peers.count, hub.peers[Int(target)].isUp else {
            mesh.counters.unknownMember &+= 1; return
        }
        // The other switch holds its member: so we know (if no later registration elsewhere says otherwise).
        if mesh.roster.ourSlot(peer: UInt32(slot), theirID: info.id) != subject {
            let unix = unixNow()
            mesh.roster.announce(peer: slot, theirID: info.id, slot: subject, registered: true, registeredAt: 0, now: unix)
        }
        // The MACs the other switch saw its member use: vouched for here too (its word, as ours).
        for mac in info.learnedMACs { _ = fabric.vouch(mac, for: subject, now: now) }
        known[Int(subject)] = true
        mesh.counters.introductions &+= 1
        let authorized = hub.directory.peers[Int(subject)]
        let forOurs = MemberInfo(id: subject, isUp: true, isRendezvous: info.isRendezvous, publicKey: info.publicKey,
                                 pinnedMACs: authorized.macs, learnedMACs: info.learnedMACs, candidates: info.candidates,
                                 name: authorized.name)
        LanyardMessage.encode(.member, body: forOurs.bytes).withUnsafeBytes { hub.send($0, to: target, now: now) }
        if info.isRendezvous {
            let back = memberInfo(about: target, rendezvous: false, now: now)
            LanyardMessage.encode(.meshIntroduce, body: bigEndianBytes(info.id) + back.bytes).withUnsafeBytes {
                mesh.send($0, to: slot, now: now)
            }
        }
    }

    func unixNow() -> Int64 { Int64(time(nil)) }

    /// The mesh part of status.
    func meshStatus(now: Nanoseconds) -> SwitchStatus.Mesh? {
        guard let mesh else { return nil }
        let remote = mesh.roster.located.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        return .init(listen: mesh.localAddress.description, switches: mesh.status(now: now), remoteMembers: remote, counters: mesh.counters)
    }
}
