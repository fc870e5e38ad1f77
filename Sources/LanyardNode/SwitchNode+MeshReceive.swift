import LanyardCore
import LanyardLinux
import LanyardWireGuard

/// What other switches of the network send (see `SwitchNode+Mesh`): hellos, rosters, frames and
/// introductions inside the sessions, and relay datagrams beside them.
extension SwitchNode {
    func fromSwitch(_ plaintext: UnsafeRawBufferPointer, _ slot: PortID, now: Nanoseconds) {
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
    func relayFromSwitch(_ bytes: UnsafeRawBufferPointer, sender: SocketAddress, now: Nanoseconds) {
        guard let mesh else { return }
        guard RelayHeader.isRelay(bytes), bytes.count >= RelayHeader.minimumLength else { mesh.hub.drops.record(.notAFrame); return }
        guard let slot = mesh.hub.peer(at: sender), mesh.hub.peers[Int(slot)].isUp, mesh.links[Int(slot)].run != nil else {
            mesh.hub.drops.record(.relayFromNonMember); return
        }
        guard mesh.links[Int(slot)].gate.check(bytes) == .accept else { mesh.counters.relayRefused &+= 1; return }
        let theirs = UInt32(truncatingIfNeeded: RelayHeader.counter(bytes) >> SwitchMesh.originShift)
        guard let from = mesh.roster.ourSlot(peer: slot, theirID: theirs) else { mesh.counters.unknownMember &+= 1; return }
        guard relayToMember(bytes, from: from, to: RelayHeader.memberID(bytes), now: now) else { hub.drops.record(.relayToUnknownMember); return }
        mesh.counters.relayedIn.received(bytes.count)
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
            flood(trimmed, except: origin, now: now)
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
}
