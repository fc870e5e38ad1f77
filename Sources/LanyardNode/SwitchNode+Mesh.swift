import LanyardCore
import LanyardLinux
import LanyardWireGuard

/// A switch among several serving one network (docs/DIRECTORY.md): the switches hold WireGuard
/// sessions with each other and tell each other which members are registered where (`roster`).
/// A lookup for a member at another switch goes to that switch, which introduces the two (the
/// rendezvous crosses switches); a relayed datagram for it goes member → switch → switch →
/// member, still sealed end to end and never longer; a broadcast goes to this switch's members
/// and once to every other switch, which passes it only to its own members (split horizon: no
/// loops, no copies).
extension SwitchNode {
    /// Joins the mesh: call once, before the loop runs.
    public func useMesh(_ mesh: SwitchMesh) { self.mesh = mesh }

    /// Everything readable on the mesh socket.
    public func meshReadable(now: Nanoseconds) throws(SystemError) {
        guard let mesh else { return }
        try mesh.hub.receiveAll(now: now, deliver: { self.fromSwitch($0, $1, now: now) },
                                relay: { self.relayFromSwitch($0, sender: $1, now: now) })
        hub.flush()
    }

    /// The store's list of switches: sessions start with new ones at once.
    public func applySwitches(_ list: [MeshSwitch], now: Nanoseconds) {
        guard let mesh else { return }
        for slot in mesh.apply(list, now: now) { hello(UInt32(slot), now: now) }
        mesh.hub.flush()
    }

    /// The mesh's timers: hellos (which start handshakes), silence, the periodic full roster.
    func meshHousekeeping(now: Nanoseconds) {
        guard let mesh else { return }
        mesh.hub.housekeeping(now: now, silenceTimeout: SwitchMesh.silenceTimeout) { slot in
            logger.warning("switch \(mesh.hub.name(of: slot)) is silent: its members are unreachable through it until it is back")
            mesh.roster.dropPeer(UInt32(slot))
        }
        if now >= mesh.nextPing || mesh.wantRosters {
            mesh.nextPing = now &+ SwitchMesh.pingInterval
            for slot in mesh.hub.peers.indices where mesh.hub.peers[slot].isMember { hello(UInt32(slot), now: now) }
            mesh.wantRosters = false
        }
        if now >= mesh.nextRoster {
            mesh.nextRoster = now &+ SwitchMesh.rosterInterval
            mesh.roster.expire(now: monotonicSeconds(now))
            for slot in mesh.hub.peers.indices where mesh.hub.peers[slot].isUp { sendRoster(to: UInt32(slot), now: now) }
        }
        mesh.hub.flush()
    }

    /// Our run, the key the other switch is to tag its relay datagrams to us with, and flags
    /// (bit 0: send me your roster; bit 1: give me a new key, my sequence is getting long).
    private func hello(_ slot: UInt32, now: Nanoseconds) {
        guard let mesh else { return }
        let link = mesh.links[Int(slot)]
        let flags: UInt8 = (mesh.wantRosters ? 1 : 0) | (link.wantsNewKey ? 2 : 0)
        let body = LanyardMessage.encodeUInt64(mesh.run) + link.gate.rawKey + [flags]
        LanyardMessage.encode(.meshHello, body: body).withUnsafeBytes { mesh.send($0, to: slot, now: now) }
    }

    /// Members were added to the list: the other switches' rosters may name some we skipped.
    func requestRosters() { if mesh != nil { mesh?.wantRosters = true } }

    func monotonicSeconds(_ now: Nanoseconds) -> Int64 { Int64(now / 1_000_000_000) }

    // MARK: Telling the other switches who is here

    /// Member `id` registered here (or left): every other switch is told at once, within the
    /// member's budget (a member saying hello in a loop cannot flood the other switches; the
    /// periodic roster carries what the budget held back).
    func announce(_ id: PortID, registered: Bool, now: Nanoseconds) {
        guard let mesh else { return }
        if registered { mesh.roster.registeredLocally(id) }
        // A registration within the member's budget; a departure only after a registration told.
        if registered {
            guard announceBudget[Int(id)].take(now: now) else { return }
        } else {
            guard announced[Int(id)] else { return }
        }
        announced[Int(id)] = registered
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
            announced[i] = true
            if entries.count == RosterUpdate.maximum { send() }
        }
        if !entries.isEmpty { send() }
    }

    private func rosterEntry(_ id: PortID, registered: Bool, now: Nanoseconds) -> RosterUpdate.Entry {
        let age = registered ? UInt32(clamping: (now &- hub.peers[Int(id)].upSince) / 1_000_000_000) : 0
        return .init(id: id, registered: registered, ageSeconds: age, publicKey: hub.directory.peers[Int(id)].publicKey.rawValue)
    }

    // MARK: Passing things to another switch

    /// Passes a relayed datagram for member `to` (registered at another switch) there, as it
    /// came but for its header; false if no other switch holds it.
    func relayAcross(_ bytes: UnsafeRawBufferPointer, from: PortID, to: PortID, now: Nanoseconds) -> Bool {
        guard let mesh, let at = mesh.roster.location(of: to), mesh.isUp(at.peer), let key = mesh.links[Int(at.peer)].sendKey,
              let endpoint = mesh.hub.peers[Int(at.peer)].endpoint, UInt64(from) >> 24 == 0,
              mesh.links[Int(at.peer)].sequence < SwitchMesh.sequenceMask else { return false }
        mesh.links[Int(at.peer)].sequence &+= 1
        let counter = UInt64(from) << SwitchMesh.originShift | mesh.links[Int(at.peer)].sequence
        mesh.hub.io.forward(bytes, to: endpoint) { RelayHeader.write(into: $0, memberID: at.theirID, counter: counter, key: key) }
        mesh.counters.relayedOut.sent(bytes.count)
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

    /// Asks the switch holding `target` about it for `requester` (a lookup: the rendezvous; a
    /// vouch: a question); false if no other switch holds it.
    func introduceAcross(_ requester: PortID, to target: PortID, mode: MeshIntroduction, now: Nanoseconds) -> Bool {
        guard let mesh, let at = mesh.roster.location(of: target), mesh.isUp(at.peer) else { return false }
        known[Int(target)] = true
        sendIntroduction(about: requester, mode: mode, for: at.theirID, to: at.peer, now: now)
        mesh.counters.introductions &+= 1
        return true
    }

    private func sendIntroduction(about subject: PortID, mode: MeshIntroduction, for target: UInt32, to slot: UInt32, now: Nanoseconds) {
        let info = memberInfo(about: subject, rendezvous: mode == .rendezvous, now: now)
        LanyardMessage.encode(.meshIntroduce, body: bigEndianBytes(target) + [mode.rawValue] + info.bytes).withUnsafeBytes {
            mesh?.send($0, to: slot, now: now)
        }
    }

    // MARK: What other switches send

    private func fromSwitch(_ plaintext: UnsafeRawBufferPointer, _ slot: PortID, now: Nanoseconds) {
        guard let mesh else { return }
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { mesh.hub.drops.record(.lanyardMalformed); return }
        if mesh.hub.markUp(slot, now: now) {
            hello(slot, now: now)
            sendRoster(to: slot, now: now)
        }
        let body = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
        switch header.kind {
        case .meshHello:
            guard body.count == 25, body[24] <= 3 else { mesh.hub.drops.record(.lanyardMalformed); return }
            let run = UInt64(bigEndian: body.loadUnaligned(as: UInt64.self)), key = Array(body[8..<24]), flags = body[24]
            var answer = false
            if mesh.links[Int(slot)].run != run {
                // A new run of that switch (or the first word from it): what it said before is
                // void, and its relay datagrams to us get a fresh key and window.
                if mesh.links[Int(slot)].run != nil { logger.notice("switch \(mesh.hub.name(of: slot)) restarted") }
                mesh.roster.dropPeer(UInt32(slot))
                mesh.links[Int(slot)].run = run
                mesh.links[Int(slot)].gate = RelayGate(rawKey: RelayGate.randomKey(), counterMask: SwitchMesh.sequenceMask)
                answer = true
            } else if flags & 2 != 0 {
                mesh.links[Int(slot)].gate = RelayGate(rawKey: RelayGate.randomKey(), counterMask: SwitchMesh.sequenceMask)
                answer = true
            }
            if mesh.links[Int(slot)].sendRawKey != key {
                mesh.links[Int(slot)].sendRawKey = key
                mesh.links[Int(slot)].sendKey = SipHash24(key: key)
                mesh.links[Int(slot)].sequence = 0
            }
            if answer { hello(UInt32(slot), now: now) }
            if answer || flags & 1 != 0 { sendRoster(to: slot, now: now) }
        case .bye:
            logger.notice("switch \(mesh.hub.name(of: slot)) is stopping")
            mesh.hub.markDown(slot)
            mesh.roster.dropPeer(UInt32(slot))
        case .roster:
            guard let update = try? RosterUpdate(parsing: body) else { mesh.hub.drops.record(.lanyardMalformed); return }
            for e in update.entries { rosterEntry(e, from: slot, now: now) }
        case .meshFrame:
            frameFromSwitch(body, slot: slot, now: now)
        case .meshIntroduce:
            introductionFromSwitch(body, slot: slot, now: now)
        default:
            mesh.hub.drops.record(.notAFrame)
        }
    }

    /// One member of another switch's roster.
    private func rosterEntry(_ e: RosterUpdate.Entry, from slot: PortID, now: Nanoseconds) {
        guard let mesh else { return }
        guard let key = try? PublicKey(rawValue: e.publicKey), let ours = hub.directory.id(of: key) else {
            mesh.roster.unknown(peer: slot, theirID: e.id)   // not (or not yet) in our list
            return
        }
        let seconds = monotonicSeconds(now), registeredAt = seconds - Int64(e.ageSeconds)
        // Registered there later than here: it moved, and its session here is over.
        if e.registered, hub.peers[Int(ours)].isUp, registeredAt > seconds - Int64((now &- hub.peers[Int(ours)].upSince) / 1_000_000_000) {
            logger.info("port \(hub.name(of: ours)) moved to switch \(mesh.hub.name(of: slot))")
            hub.markDown(ours)
            fabric.removePort(ours)
            gates[Int(ours)] = nil
        }
        guard !hub.peers[Int(ours)].isUp else { return }
        mesh.roster.announce(peer: slot, theirID: e.id, slot: ours, registered: e.registered, registeredAt: registeredAt, now: seconds)
    }

    /// A relay datagram from switch `slot` for one of our members: its tag and counter checked
    /// under that switch's key, then passed on from the origin's id here, exactly as long as it came.
    private func relayFromSwitch(_ bytes: UnsafeRawBufferPointer, sender: SocketAddress, now: Nanoseconds) {
        guard let mesh else { return }
        guard RelayHeader.isRelay(bytes), bytes.count >= RelayHeader.minimumLength else { mesh.hub.drops.record(.notAFrame); return }
        guard let slot = mesh.hub.peer(at: sender), mesh.hub.peers[Int(slot)].isUp, mesh.links[Int(slot)].run != nil else {
            mesh.hub.drops.record(.relayFromNonMember); return
        }
        guard mesh.links[Int(slot)].gate.check(bytes) == .accept else { mesh.counters.relayRefused &+= 1; return }
        let theirs = UInt32(truncatingIfNeeded: RelayHeader.counter(bytes) >> SwitchMesh.originShift)
        guard let from = mesh.roster.ourSlot(peer: slot, theirID: theirs) else { mesh.counters.unknownMember &+= 1; return }
        let to = RelayHeader.memberID(bytes)
        guard Int(to) < hub.peers.count, to != from, hub.peers[Int(to)].isUp, let endpoint = hub.peers[Int(to)].endpoint else {
            hub.drops.record(.relayToUnknownMember); return
        }
        hub.io.forward(bytes, to: endpoint) { RelayHeader.setMemberID(from, in: $0) }
        mesh.counters.relayedIn.received(bytes.count)
        relayed.record(from: from, to: to, bytes: bytes.count, now: now)
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

    /// An introduction from switch `slot` (see `MeshIntroduction`): about its member, for ours.
    private func introductionFromSwitch(_ body: UnsafeRawBufferPointer, slot: PortID, now: Nanoseconds) {
        guard let mesh else { return }
        guard body.count > 5, let mode = MeshIntroduction(rawValue: body[4]),
              let info = try? MemberInfo(parsing: UnsafeRawBufferPointer(rebasing: body[5...])) else {
            mesh.hub.drops.record(.lanyardMalformed); return
        }
        let target = readBigEndianUInt32(body, at: 0)
        guard let key = try? PublicKey(rawValue: info.publicKey), let subject = hub.directory.id(of: key), subject != target,
              Int(target) < hub.peers.count, hub.peers[Int(target)].isMember else {
            mesh.counters.unknownMember &+= 1; return
        }
        mesh.counters.introductions &+= 1
        if mode != .answer {
            // About one of ours: answer with what we know of it (down, if it is not here).
            sendIntroduction(about: target, mode: .answer, for: info.id, to: slot, now: now)
            guard mode == .rendezvous, hub.peers[Int(target)].isUp else { return }
        }
        guard hub.peers[Int(target)].isUp else { return }
        // The other switch holds its member (unless a later registration elsewhere says otherwise).
        if info.isUp, !hub.peers[Int(subject)].isUp, mesh.roster.ourSlot(peer: UInt32(slot), theirID: info.id) != subject {
            mesh.roster.announce(peer: slot, theirID: info.id, slot: subject, registered: true, registeredAt: .min, now: monotonicSeconds(now))
        }
        // The MACs the other switch saw its member use: vouched for here too (its word, as ours).
        for mac in info.learnedMACs { _ = fabric.vouch(mac, for: subject, now: now) }
        known[Int(subject)] = true
        let authorized = hub.directory.peers[Int(subject)]
        let forOurs = MemberInfo(id: subject, isUp: info.isUp, isRendezvous: mode == .rendezvous, publicKey: info.publicKey,
                                 pinnedMACs: authorized.macs, learnedMACs: info.learnedMACs, candidates: info.candidates,
                                 name: authorized.name)
        LanyardMessage.encode(.member, body: forOurs.bytes).withUnsafeBytes { hub.send($0, to: target, now: now) }
    }

    /// The mesh part of status.
    func meshStatus(now: Nanoseconds) -> SwitchStatus.Mesh? {
        guard let mesh else { return nil }
        let remote = mesh.roster.located.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        return .init(listen: mesh.localAddress.description, switches: mesh.status(now: now), remoteMembers: remote,
                     counters: mesh.counters, datagramDrops: countsByName(mesh.hub.drops.nonZero))
    }
}
