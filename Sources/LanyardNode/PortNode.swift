import LanyardCore
import LanyardLinux
import LanyardWireGuard
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The default TAP MTU. A full frame must cross a 1500-byte underlay unfragmented, over IPv6 and
/// through the relay: 1500 − 40 (IPv6) − 8 (UDP) − 24 (relay header) − 32 (WireGuard header 16 +
/// tag 16) = 1396 bytes of plaintext, which WireGuard pads to a multiple of 16, so at most 1392.
/// The plaintext is Lanyard's 4-byte header + the 14-byte Ethernet header + a 4-byte 802.1Q tag
/// that a VLAN on the TAP may add + the payload: 1392 − 22 = 1370. (Frames through the switch
/// carry 4 more bytes, the origin's id, but no relay header.)
public let defaultTapMTU = 1370

/// A port: frames from a TAP device go to the other members, and back. Unicast to a member goes
/// on an end-to-end session with it (direct when a probed path answers, else sealed through the
/// switch's relay); broadcast, multicast and frames for MACs not yet known go through the switch
/// on the port's own session with it, as does everything when the switch runs `--relay-all`.
public final class PortNode {
    let name: String
    let tap: TunDevice
    let io: BatchedSocket
    let hub: HubConnection
    let members: PeerHub
    let logger: Logger
    let publicKey: PublicKey

    /// What the port knows of one other member (a class: the data path reads it per frame
    /// without copying its sets and arrays).
    final class Member {
        var switchID: UInt32
        var name: String
        let publicKey: PublicKey
        /// Source MACs the switch vouched this member may use, and since when.
        var allowedMACs = VouchedMACs()
        var path = PathSelector<SocketAddress>()
        var shownPath: PathSelector<SocketAddress>.Path = .relayed
        var lastActivity: Nanoseconds = 0
        var handshakeKickedAt: Nanoseconds?
        var lastVouch: Nanoseconds?
        var isActive = false

        init(switchID: UInt32, name: String, publicKey: PublicKey) {
            self.switchID = switchID
            self.name = name
            self.publicKey = publicKey
        }
    }

    /// Set by the switch's welcome when it offers direct paths.
    private var directory: LanyardMessage.Welcome.Directory?
    /// MAC → the switch's member id, learned only from what the switch vouched for.
    private var macs = MACTable(configuration: .init(agingTime: .seconds(300), maxMACsPerPort: 64, maxEntries: 65_536))
    private var known: [Member?] = []
    private var localBySwitchID: [UInt32: PortID] = [:]
    private var localByKey: [PublicKey: PortID] = [:]
    private var active: [PortID] = []
    private var lastLookup: [UInt32: Nanoseconds] = [:]
    /// Members (by switch id) that sent through the relay before we knew them: a handshake
    /// starts when the switch introduces them.
    private var handshakeWanted: [UInt32: Nanoseconds] = [:]
    /// When an authenticated datagram last came straight from a member (not through the relay).
    private var lastDirectHeard: Nanoseconds = 0
    /// Lookups started by relayed datagrams from members not yet known: the relay's sender
    /// address can be forged, so they get a small budget of their own, apart from the switch's
    /// request budget that lookups for frames and vouches need.
    private var strangerLookups = TokenBucket(rate: 5, burst: 20)
    private var nextIdleSweep: Nanoseconds = 0
    /// Source MACs seen on the TAP since the last report to the switch (usually one).
    private var localMACs: Set<MACAddress> = []
    private var lastLocalMAC: MACAddress?
    private var nextMACReport: Nanoseconds = 0
    private var drops = ReasonCounters<DatagramDropReason>()
    /// The switch's membership revision (in its pongs): a change means a member was removed.
    private var revision = RevisionWatch()
    /// Known members to look up again by key (the switch answers `memberGone` for a removed one),
    /// sent a few at a time within the switch's budget for requests.
    private var relookups: [PublicKey] = []
    /// The hub connection's move count at the last welcome (a move to another switch renumbers members).
    private var welcomedAfterMoves: UInt64 = 0
    private var relookupBudget = TokenBucket(rate: 10, burst: 20)
    /// Sessions unused this long are ended (keys wiped); the next frame starts a new one.
    static let idleTeardown: Nanoseconds = .seconds(180)
    static let unknownOrigin: UInt32 = 0xFFFF_FFFF

    public init(name: String, tap: TunDevice, hub: HubConnection, members: PeerHub, publicKey: PublicKey, logger: Logger) {
        self.name = name
        self.tap = tap
        self.io = hub.io
        self.hub = hub
        self.members = members
        self.publicKey = publicKey
        self.logger = logger
    }

    public var isRegistered: Bool { hub.registration.isRegistered }

    // MARK: TAP → network

    /// Reads every frame ready (up to a batch) and sends each on its way.
    public func tapReadable(now: Nanoseconds) throws(SystemError) {
        let registered = isRegistered
        try tap.readPackets(limit: 64, headroom: 8) { region in
            let frame = UnsafeRawBufferPointer(rebasing: region[8...])
            if frame.count >= 14 {
                let source = MACAddress(bytes: frame, offset: 6)
                if source != lastLocalMAC { lastLocalMAC = source; if localMACs.count < 64 { localMACs.insert(source) } }
            }
            if directory != nil, frame.count >= 14, let local = member(for: frame, now: now) {
                if members.isEstablished(local, now: now) {
                    let message = UnsafeMutableRawBufferPointer(rebasing: region[4...])
                    LanyardMessage.writeHeader(.frame, bodyLength: frame.count, into: message)
                    members.send(UnsafeRawBufferPointer(message), to: local, now: now)
                    noteActivity(local, now: now)
                    return
                }
                kickHandshake(local, now: now)
            }
            guard registered else { return }
            LanyardMessage.writeHeader(.switchedFrame, bodyLength: frame.count + 4, into: region)
            region.storeBytes(of: Self.unknownOrigin, toByteOffset: 4, as: UInt32.self)
            hub.seal(UnsafeRawBufferPointer(region), now: now)
        }
        members.flush()
        hub.flush()
    }

    /// The member behind a unicast frame's destination, if known; asks the switch about a member
    /// seen but not yet introduced.
    private func member(for frame: UnsafeRawBufferPointer, now: Nanoseconds) -> PortID? {
        let destination = MACAddress(bytes: frame, offset: 0)
        guard !destination.isMulticast, let switchID = macs.port(of: destination, now: now) else { return nil }
        if let local = localBySwitchID[switchID] { return local }
        lookUp(.id(switchID), key: switchID, now: now)
        return nil
    }

    /// Starts an end-to-end handshake (at most every 5 s per member); frames meanwhile go through the switch.
    private func kickHandshake(_ local: PortID, now: Nanoseconds) {
        if let t = known[Int(local)]?.handshakeKickedAt, now &- t < .seconds(5) { return }
        known[Int(local)]?.handshakeKickedAt = now
        noteActivity(local, now: now)
        LanyardMessage.encode(.ping, body: LanyardMessage.encodeUInt64(0)).withUnsafeBytes { members.send($0, to: local, now: now) }
    }

    private func lookUp(_ request: LookupRequest, key: UInt32, now: Nanoseconds) {
        guard isRegistered else { return }
        if let t = lastLookup[key], now &- t < .seconds(2) { return }
        if lastLookup.count > 4096 { lastLookup.removeAll(keepingCapacity: true) }
        lastLookup[key] = now
        LanyardMessage.encode(.lookup, body: request.bytes).withUnsafeBytes { hub.seal($0, now: now) }
    }

    @inline(__always)
    private func noteActivity(_ local: PortID, now: Nanoseconds) {
        // Per frame: only a read, unless the last note is 100 ms old (keeps the data path cheap).
        guard let last = known[Int(local)]?.lastActivity, now &- last >= 100_000_000 else { return }
        noteActivitySlow(local, now: now)
    }

    private func noteActivitySlow(_ local: PortID, now: Nanoseconds) {
        guard let m = known[Int(local)] else { return }
        m.lastActivity = now
        m.path.noteActivity(now: now)
        if !m.isActive { m.isActive = true; active.append(local) }
    }

    // MARK: Network → TAP

    /// Everything readable on the socket: the switch's session, relayed and direct member datagrams.
    public func socketReadable(now: Nanoseconds) throws(SystemError) {
        try io.receiveAll(oversized: { drops.record(.oversized) }) { bytes, sender in
            let from = sender()
            if from == hub.endpoint {
                if RelayHeader.isRelay(bytes) { relayed(bytes, now: now) } else { hub.handle(bytes, from: { from }, now: now) { fromSwitch($0, now: now) } }
            } else if hub.isProbed(from) {
                hub.handle(bytes, from: { from }, now: now) { fromSwitch($0, now: now) }
            } else {
                members.handle(bytes, from: { from }, arrival: nil, expected: nil, now: now) { fromMember($0, $1, $2, now: now) }
            }
        }
        try tap.flushWrites()
    }

    private func relayed(_ bytes: UnsafeRawBufferPointer, now: Nanoseconds) {
        guard bytes.count >= RelayHeader.minimumLength else { drops.record(.tooShort); return }
        let origin = RelayHeader.memberID(bytes)
        let inner = UnsafeRawBufferPointer(rebasing: bytes[RelayHeader.length...])
        guard let local = localBySwitchID[origin] else {
            // A member we were never introduced to talks to us (we restarted and it still holds a
            // session with our previous run, or ids changed): ask the switch who it is, and start
            // a handshake once it has answered. Only for what looks like WireGuard, within a
            // budget of its own, and remembered for 10 s at most (the sender can be forged).
            drops.record(.relayFromNonMember)
            guard case .success = WireMessage.classify(inner) else { return }
            if let t = lastLookup[origin], now &- t < .seconds(2) { return }
            guard strangerLookups.take(now: now) else { return }
            if handshakeWanted.count >= 64 { handshakeWanted = handshakeWanted.filter { now &- $0.value < .seconds(10) } }
            if handshakeWanted.count < 64 { handshakeWanted[origin] = now }
            lookUp(.id(origin), key: origin, now: now)
            return
        }
        if members.isForLostSession(inner, from: local, now: now) { restartSession(local, now: now) }
        // Only an initiation is looked at twice (data, the per-packet case, goes straight on).
        let isInitiation = inner.count >= 4 && inner[0] == WireMessage.initiation
        let handshakeBefore = isInitiation ? members.lastHandshake(local) : nil
        members.handle(inner, from: { self.hub.endpoint }, arrival: .relayed, expected: local, now: now) { fromMember($0, $1, $2, now: now) }
        // An authenticated handshake through the relay while we use a direct path: the member
        // evidently cannot reach us there (it restarted, or its address changed): answer
        // through the relay and probe afresh.
        if isInitiation, members.lastHandshake(local) != handshakeBefore, let m = known[Int(local)], m.path.distrust(now: now) {
            updateRoute(local, now: now)
        }
    }

    /// Starts a new end-to-end handshake with a member whose session is lost (at most every 5 s).
    private func restartSession(_ local: PortID, now: Nanoseconds) {
        guard let m = known[Int(local)] else { return }
        if let t = m.handshakeKickedAt, now &- t < .seconds(5) { return }
        m.handshakeKickedAt = now
        noteActivitySlow(local, now: now)
        if m.path.distrust(now: now) { updateRoute(local, now: now) }
        members.initiateHandshake(local, now: now)
    }

    /// Whether no member has reached this port directly for 15 s (with the switch silent too, the
    /// socket's NAT mapping itself may be dead: see `HubConnection.mayRebind`).
    public func hearsNothingDirect(now: Nanoseconds) -> Bool { now &- lastDirectHeard > .seconds(15) }

    private func fromMember(_ plaintext: UnsafeRawBufferPointer, _ local: PortID, _ arrival: PeerHub.Arrival, now: Nanoseconds) {
        if case .direct = arrival { lastDirectHeard = now }
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { drops.record(.lanyardMalformed); return }
        let body = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
        guard let switchID = known[Int(local)]?.switchID else { return }
        switch header.kind {
        case .frame:
            guard body.count >= 14 else { drops.record(.lanyardMalformed); return }
            let source = MACAddress(bytes: body, offset: 6)
            switch known[Int(local)]?.allowedMACs.check(source, now: now, switchAway: !isRegistered) ?? .notVouched {
            case .allowed: break
            case .allowedAskAgain: askVouch(local, source, now: now) // the switch's word is getting old
            case .notVouched:
                drops.record(.macNotVouched)
                askVouch(local, source, now: now)
                return
            }
            // Vouched, but another member may hold it now (it moved): the table's rules decide.
            switch macs.learn(source, on: switchID, now: now) {
            case .refused: drops.record(.macNotVouched); return
            case .moved(let previous): withdraw(source, from: previous)
            case .learned, .refreshed: break
            }
            noteActivity(local, now: now)
            try? tap.writeCoalescing(body)
        case .ping:
            guard body.count == 8 else { drops.record(.lanyardMalformed); return }
            noteActivity(local, now: now)
            let probe = UInt64(bigEndian: body.loadUnaligned(as: UInt64.self))
            if probe == 0 { return } // a handshake kick, nothing to answer
            noteActivitySlow(local, now: now)
            let pong = LanyardMessage.encode(.pong, body: Array(body))
            if case .direct(let address) = arrival {
                known[Int(local)]?.path.pingReceived(from: address, now: now)
                pong.withUnsafeBytes { members.send($0, to: local, at: address, now: now) }
            } else {
                pong.withUnsafeBytes { members.send($0, to: local, now: now) }
            }
        case .pong:
            guard body.count == 8, case .direct(let address) = arrival else { return }
            let probe = UInt64(bigEndian: body.loadUnaligned(as: UInt64.self))
            logger.trace("pong \(probe) from member \(switchID) at \(address)")
            known[Int(local)]?.path.pongReceived(from: address, probeID: probe, now: now)
            updateRoute(local, now: now)
        case .bye:
            break
        default:
            drops.record(.notAFrame)
        }
    }

    /// Member `switchID` lost `mac` to another member: its direct frames from it are refused from now on.
    private func withdraw(_ mac: MACAddress, from switchID: UInt32) {
        if let old = localBySwitchID[switchID] { known[Int(old)]?.allowedMACs.withdraw(mac) }
    }

    /// Asks the switch whether member `local` may use `mac` (at most once a second per member).
    private func askVouch(_ local: PortID, _ mac: MACAddress, now: Nanoseconds) {
        guard let m = known[Int(local)], isRegistered else { return }
        if let t = m.lastVouch, now &- t < .seconds(1) { return }
        known[Int(local)]?.lastVouch = now
        LanyardMessage.encode(.vouch, body: VouchRequest(id: m.switchID, mac: mac).bytes).withUnsafeBytes { hub.seal($0, now: now) }
    }

    private func fromSwitch(_ plaintext: UnsafeRawBufferPointer, now: Nanoseconds) {
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { hub.drops.record(.lanyardMalformed); return }
        let body = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
        switch header.kind {
        case .switchedFrame:
            guard body.count >= 4 + 14 else { hub.drops.record(.lanyardMalformed); return }
            let origin = readBigEndianUInt32(body, at: 0)
            let frame = UnsafeRawBufferPointer(rebasing: body[4...])
            if directory != nil, origin != Self.unknownOrigin, origin != directory?.memberID {
                let source = MACAddress(bytes: frame, offset: 6)
                if !source.isMulticast {
                    switch macs.learn(source, on: origin, now: now) {
                    case .refused: break
                    case .moved(let previous):
                        // The switch let it move: the previous holder may no longer use it.
                        withdraw(source, from: previous)
                        fallthrough
                    case .learned, .refreshed:
                        if let local = localBySwitchID[origin] { known[Int(local)]?.allowedMACs.vouch(source, now: now) }
                    }
                }
            }
            try? tap.writeCoalescing(frame)
        case .frame:
            try? tap.writeCoalescing(body)
        case .welcome:
            guard let welcome = try? LanyardMessage.Welcome(parsing: body) else { hub.drops.record(.lanyardMalformed); return }
            welcomed(welcome, now: now)
        case .member:
            guard let info = try? MemberInfo(parsing: body) else { hub.drops.record(.lanyardMalformed); return }
            introduced(info, now: now)
        case .memberGone:
            guard let key = try? PublicKey(rawValue: Array(body)) else { hub.drops.record(.lanyardMalformed); return }
            forget(key)
        case .pong:
            guard let answer = try? KeepaliveAnswer(parsing: body) else { hub.drops.record(.lanyardMalformed); return }
            if directory != nil, let r = answer.membershipRevision, revision.observe(r) {
                logger.info("the switch's membership changed: looking up the \(localByKey.count) members known again")
                lookUpAllAgain(now: now)
            }
        case .bye:
            logger.notice("the switch is shutting down; will register again when it is back (direct paths stay up)")
            hub.registration.hubLeft(now: now)
        case .hello, .ping, .config, .lookup, .endpoints, .vouch, .roster, .meshIntroduce, .meshFrame, .meshHello:
            hub.drops.record(.notAFrame)
        }
    }

    private func welcomed(_ welcome: LanyardMessage.Welcome, now: Nanoseconds) {
        hub.registration.keepaliveInterval = .seconds(Double(welcome.keepaliveSeconds))
        hub.registration.silenceTimeout = .seconds(Double(welcome.silenceTimeoutSeconds))
        if !isRegistered {
            logger.notice("registered with switch \(hub.hubAddress) (\(hub.endpoint))\(welcome.directory == nil ? "; every frame goes through the switch (--relay-all)" : "")")
        }
        hub.registration.welcomed(now: now)
        let previousDirectory = directory
        let movedHub = hub.moves != welcomedAfterMoves
        welcomedAfterMoves = hub.moves
        directory = welcome.directory
        guard let d = welcome.directory else { return }
        members.relaySender = RelaySender(key: d.relayKey)
        let own = localCandidateAddresses(port: io.socket.localAddress.port, family: io.socket.family, excluding: [tap.name])
        LanyardMessage.encode(.endpoints, body: CandidateList(own).bytes).withUnsafeBytes { hub.seal($0, now: now) }
        // The switch may have restarted with another ports file, or this port moved to another
        // switch of the network: if our own id changed, or the switch did, every id may have, so
        // forget what was learned under the old ones. Either way ask again about every
        // member known: new ids come back in `member`, a member no longer listed as `memberGone`.
        if let previous = previousDirectory, previous.memberID != d.memberID || movedHub {
            macs = MACTable(configuration: macs.configuration)
            localBySwitchID.removeAll()
            handshakeWanted.removeAll()
        }
        // The switch was away or restarted: its table fills again as members report their MACs,
        // so every vouch held gets one more lifetime for it to confirm.
        for m in known.compactMap({ $0 }) { m.allowedMACs.renewAll(now: now) }
        lastLookup.removeAll()
        revision.reset()
        lookUpAllAgain(now: now)
    }

    /// Queues a lookup by key of every member known (new ids come back in `member`, a member no
    /// longer listed as `memberGone`) and sends what the budget allows now; `tick` sends the rest.
    private func lookUpAllAgain(now: Nanoseconds) {
        relookups = known.compactMap { $0?.publicKey }
        sendRelookups(now: now)
    }

    private func sendRelookups(now: Nanoseconds) {
        guard isRegistered else { return }
        while let key = relookups.last, relookupBudget.take(now: now) {
            relookups.removeLast()
            guard localByKey[key] != nil else { continue } // forgotten meanwhile
            LanyardMessage.encode(.lookup, body: LookupRequest.publicKey(key.rawValue).bytes).withUnsafeBytes { hub.seal($0, now: now) }
        }
    }

    /// The switch described a member (our lookup's answer, or the rendezvous: it wants us).
    private func introduced(_ info: MemberInfo, now: Nanoseconds) {
        guard let d = directory, info.id != d.memberID, let key = try? PublicKey(rawValue: info.publicKey), key != publicKey else { return }
        let local: PortID
        if let l = localByKey[key] {
            local = l
            if let old = known[Int(l)]?.switchID, old != info.id {
                // Ids were reassigned: what was learned under either id is stale.
                if localBySwitchID[old] == l { localBySwitchID[old] = nil }
                macs.removePort(old)
                macs.removePort(info.id)
            }
        } else {
            local = members.add(AuthorizedPeer(name: info.name, publicKey: key))
            while known.count <= Int(local) { known.append(nil) }
            known[Int(local)] = Member(switchID: info.id, name: info.name, publicKey: key)
            localByKey[key] = local
            logger.info("member \(info.name) introduced by the switch")
        }
        localBySwitchID[info.id] = local
        guard let m = known[Int(local)] else { return }
        m.switchID = info.id
        m.name = info.name
        // Vouched MACs: the switch's pins and what it holds for the member now, replacing what it
        // said before. (A MAC that moves to another member is also taken off when the switch
        // forwards the move; a vouch not renewed within `VouchedMACs.lifetime` lapses, so a MAC
        // the switch gave to someone else is not taken back here even if this port never saw
        // the move; and a direct frame from a MAC another live member holds is refused by the table.)
        m.allowedMACs.replace(pinned: info.pinnedMACs, learned: info.learnedMACs, now: now)
        macs.unpinAll(of: info.id)   // pins the switch no longer lists for it are dropped
        for mac in info.pinnedMACs { macs.pin(mac, to: info.id) }
        let reachable = info.candidates.filter(\.isRoutable).map(SocketAddress.init)
            .filter { io.socket.family == AF_INET6 || $0.family == AF_INET }
        m.path.announce(observed: Array(reachable.prefix(1)), local: Array(reachable.dropFirst()), now: now)
        updateRoute(local, now: now)
        if info.isRendezvous { noteActivity(local, now: now) }
        if let asked = handshakeWanted.removeValue(forKey: info.id), now &- asked < .seconds(10) { restartSession(local, now: now) }
    }

    /// The switch says a member was removed: end every session with it.
    private func forget(_ key: PublicKey) {
        guard let local = localByKey[key], let m = known[Int(local)] else { return }
        logger.notice("member \(m.name) removed from the network: sessions ended")
        members.remove(local)
        macs.removePort(m.switchID)
        if localBySwitchID[m.switchID] == local { localBySwitchID[m.switchID] = nil }
        localByKey[key] = nil
        known[Int(local)] = nil
        active.removeAll { $0 == local }
    }

    /// Points the member's session at its chosen path and logs a change.
    private func updateRoute(_ local: PortID, now: Nanoseconds) {
        guard let m = known[Int(local)] else { return }
        let path = m.path.path(now: now)
        switch path {
        case .direct(let e): members.setRoute(local, endpoint: e, relayMember: nil)
        case .relayed: members.setRoute(local, endpoint: hub.endpoint, relayMember: m.switchID)
        }
        if path != m.shownPath {
            known[Int(local)]?.shownPath = path
            switch path {
            case .direct(let e):
                logger.info("\(m.name): direct path \(e) (rtt \(m.path.rtt(now: now).map { String((Double($0) / 1e4).rounded() / 100) } ?? "?") ms)")
            case .relayed: logger.info("\(m.name): direct path lost, through the switch's relay")
            }
        }
    }

    // MARK: Timers

    /// Keepalives and re-registration with the switch; probes and path choice for active members.
    public func tick(now: Nanoseconds) {
        if !relookups.isEmpty { sendRelookups(now: now) }
        hub.tick(now: now)   // (flushes)
        reportLocalMACs(now: now)
        var i = 0
        while i < active.count {
            let local = active[i]
            guard let m = known[Int(local)], m.path.isActive(now: now) else {
                known[Int(local)]?.isActive = false
                active.swapAt(i, active.count - 1)
                active.removeLast()
                continue
            }
            if members.isEstablished(local, now: now) {
                m.path.probes(now: now) { endpoint, probe in
                    logger.trace("probe \(probe) to \(m.name) at \(endpoint)")
                    LanyardMessage.encode(.ping, body: LanyardMessage.encodeUInt64(probe)).withUnsafeBytes {
                        members.send($0, to: local, at: endpoint, now: now)
                    }
                }
            }
            updateRoute(local, now: now)
            i += 1
        }
        if now >= nextIdleSweep {
            nextIdleSweep = now + .seconds(30)
            for (i, m) in known.enumerated() where m != nil && now &- m!.lastActivity > Self.idleTeardown && members.lastHandshake(PortID(i)) != nil {
                members.peers[i].link.wipeIfPossible()
            }
        }
        members.housekeeping(now: now, silenceTimeout: .max) { _ in }
        members.flush()
    }

    /// Unicast between members no longer passes the switch, so it would forget that this port's
    /// MACs are in use (and let another port claim them): once per keepalive interval, the port
    /// tells it which source MACs it used (a `vouch` for itself).
    private func reportLocalMACs(now: Nanoseconds) {
        guard let d = directory, isRegistered, now >= nextMACReport else { return }
        nextMACReport = now + hub.registration.keepaliveInterval
        if let last = lastLocalMAC { localMACs.insert(last) }
        for mac in localMACs where !mac.isMulticast {
            LanyardMessage.encode(.vouch, body: VouchRequest(id: d.memberID, mac: mac).bytes).withUnsafeBytes { hub.seal($0, now: now) }
        }
        localMACs.removeAll(keepingCapacity: true)
        lastLocalMAC = nil
        hub.flush()
    }

    /// One line for systemd's status (sent again whenever it changes).
    public func summary() -> String {
        let count = known.reduce(0) { $1 == nil ? $0 : $0 + 1 }
        return "\(hub.registration.isRegistered ? "registered with" : "connecting to") the switch; \(count) \(count == 1 ? "member" : "members") known"
    }

    /// Tells the switch and the members with a session that this port is leaving.
    public func sayGoodbye(now: Nanoseconds) {
        LanyardMessage.encode(.bye).withUnsafeBytes { bye in
            for (i, m) in known.enumerated() where m != nil && members.isEstablished(PortID(i), now: now) {
                members.send(bye, to: PortID(i), now: now)
            }
        }
        members.flush()
        hub.sayGoodbye(now: now)
    }

    /// A snapshot for `lanyard status`: the switch session, then the members known (`scope`:
    /// all of them, a page, or only their counts; a port may know thousands).
    public func status(now: Nanoseconds, publicKey: String, peerPublicKey: String, scope: StatusScope = .all) -> LinkStatus {
        var s = hub.status(kind: "port", name: name, interface: tap.name, now: now, publicKey: publicKey, peerPublicKey: peerPublicKey)
        tap.addDrops(to: &s.drops)
        for (reason, n) in drops.nonZero + members.drops.nonZero { s.drops[reason.description, default: 0] += n }
        let slots = known.indices.filter { known[$0] != nil }
        switch scope {
        case .all, .ports:
            s.members = slots.map { memberStatus($0, now: now) }
        case .summary, .page:
            var shown: ArraySlice<Int> = []
            if case .page(let offset, let limit) = scope, offset < slots.count {
                shown = slots[offset..<min(slots.count, offset + limit)]
            }
            s.members = shown.map { memberStatus($0, now: now) }
            s.memberCount = slots.count
            s.membersDirect = slots.count { i in
                guard members.isEstablished(PortID(i), now: now), case .direct = known[i]!.path.path(now: now) else { return false }
                return true
            }
        }
        s.mode = directory == nil ? "through the switch" : "direct paths"
        s.batching = members.io.batching
        s.cookieReplies = members.cookieReplies
        return s
    }

    private func memberStatus(_ i: Int, now: Nanoseconds) -> MemberStatus {
        let m = known[i]!
        let id = PortID(i)
        let established = members.isEstablished(id, now: now)
        var endpoint: String?
        if case .direct(let e) = m.path.path(now: now) { endpoint = e.description }
        return MemberStatus(
            name: m.name, publicKey: m.publicKey.base64,
            path: !established ? "switch" : (endpoint == nil ? "relayed" : "direct"),
            endpoint: endpoint, rttMilliseconds: m.path.rtt(now: now).map { (Double($0) / 1e4).rounded() / 100 },
            lastHandshakeSeconds: members.lastHandshake(id).map { seconds(now &- $0) },
            candidates: m.path.candidates.map { "\($0.endpoint) (\($0.origin.rawValue))" },
            traffic: members.peers[i].traffic)
    }
}
