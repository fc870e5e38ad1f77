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
    func hello(_ slot: UInt32, now: Nanoseconds) {
        guard let mesh else { return }
        let link = mesh.links[Int(slot)]
        let flags: UInt8 = (mesh.wantRosters ? 1 : 0) | (link.wantsNewKey ? 2 : 0)
        let body = LanyardMessage.encodeUInt64(mesh.run) + link.gate.rawKey + [flags]
        LanyardMessage.encode(.meshHello, body: body).withUnsafeBytes { mesh.send($0, to: slot, now: now) }
    }

    /// Members were added to the list: the other switches' rosters may name some we skipped.
    func requestRosters() { mesh?.wantRosters = true }

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

    func sendIntroduction(about subject: PortID, mode: MeshIntroduction, for target: UInt32, to slot: UInt32, now: Nanoseconds) {
        let info = memberInfo(about: subject, rendezvous: mode == .rendezvous, now: now)
        LanyardMessage.encode(.meshIntroduce, body: bigEndianBytes(target) + [mode.rawValue] + info.bytes).withUnsafeBytes {
            mesh?.send($0, to: slot, now: now)
        }
    }

    /// The mesh part of status.
    func meshStatus(now: Nanoseconds) -> SwitchStatus.Mesh? {
        guard let mesh else { return nil }
        let remote = mesh.roster.located.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        return .init(listen: mesh.localAddress.description, switches: mesh.status(now: now), remoteMembers: remote,
                     counters: mesh.counters, datagramDrops: countsByName(mesh.hub.drops.nonZero))
    }
}
