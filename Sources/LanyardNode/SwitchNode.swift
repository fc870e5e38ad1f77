import LanyardCore
import LanyardLinux
import LanyardWireGuard
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Settings of a running switch.
public struct SwitchSettings: Sendable {
    public var name: String
    public var table: MACTable.Configuration
    /// How often ports should send a keepalive (told to them in `welcome`).
    public var keepaliveInterval: Nanoseconds
    /// A port silent this long is dropped.
    public var silenceTimeout: Nanoseconds
    /// Offer direct paths and the blind relay (false: `--relay-all`, every frame through the switch).
    public var directPaths: Bool

    public init(name: String, table: MACTable.Configuration = .init(),
                keepaliveInterval: Nanoseconds = .seconds(5), silenceTimeout: Nanoseconds = .seconds(15),
                directPaths: Bool = true) {
        self.name = name
        self.table = table
        self.keepaliveInterval = keepaliveInterval
        self.silenceTimeout = silenceTimeout
        self.directPaths = directPaths
    }
}

/// The virtual switch. Broadcast, multicast and unknown unicast from ports (on a `PeerHub`) go
/// through the `SwitchFabric` and are encrypted again on each destination's session, tagged with
/// the member they came from. Unicast between two members goes end to end: the switch is their
/// directory (who is a member, which MACs each may use) and rendezvous (where each might be
/// reached), and relays their sealed datagrams, which it cannot read, when no direct path works.
/// With `directPaths` off every frame passes through the fabric, as before direct paths existed.
public final class SwitchNode {
    let settings: SwitchSettings
    let hub: PeerHub
    let logger: Logger
    var fabric: SwitchFabric
    /// Per member: its relay key and counter window (set at each registration).
    var gates: [RelayGate?] = []
    /// Per member: the addresses it reported for itself.
    private var localCandidates: [[CandidateAddress]] = []
    /// Per member: lookups and vouch requests it may make.
    private var requestBudget: [TokenBucket] = []
    /// Per member: how often its coming and going is told to the other switches at once, and
    /// whether its registration was (so its departure is too).
    var announceBudget: [TokenBucket] = []
    var announced: [Bool] = []
    /// Per member: whether another member may hold a session with it from this run (it was
    /// heard from, or introduced to someone), so its removal or new pins must be announced.
    var known: [Bool] = []
    /// Relayed traffic by pair and in total.
    var relayed = RelayPairCounters()
    private var nextRelayPrune: Nanoseconds = 0
    /// Changes whenever a member is removed; every `pong` carries it, so a port that missed a
    /// `memberGone` notices at its next keepalive and looks its members up again. It starts at a
    /// random value, so a restarted switch does not repeat an old one.
    private var membershipRevision = UInt64.random(in: 1 ... UInt64.max / 2)
    /// Answers join requests (a switch whose members live in a store that takes invites).
    public var joins: JoinDesk?
    /// The member store's state, shown in status (set by the daemon from the store's thread's reports).
    public var store: SwitchStatus.Store?
    /// The other switches of the network, when several serve it (`SwitchNode+Mesh`).
    var mesh: SwitchMesh?

    public init(settings: SwitchSettings, hub: PeerHub, pins: [(MACAddress, PortID)], logger: Logger) {
        self.settings = settings
        self.hub = hub
        self.logger = logger
        fabric = SwitchFabric(table: MACTable(configuration: settings.table))
        for (mac, port) in pins { fabric.pin(mac, to: port) }
        growPerMemberState()
    }

    private func growPerMemberState() {
        while gates.count < hub.peers.count {
            gates.append(nil)
            localCandidates.append([])
            requestBudget.append(TokenBucket(rate: 20, burst: 40))
            announceBudget.append(TokenBucket(rate: 1, burst: 5))
            announced.append(false)
            known.append(false)
        }
    }

    /// Handles everything readable on the socket now, then sends what it produced.
    public func receiveAll(now: Nanoseconds) throws(SystemError) {
        try hub.receiveAll(now: now, deliver: { deliver($0, from: $1, now: now) },
                           relay: { self.relay($0, from: $1, now: now) })
        mesh?.hub.flush()
    }

    /// Timers: keepalives, retries, silence, MAC aging. Call often (every few hundred ms).
    public func housekeeping(now: Nanoseconds) {
        hub.housekeeping(now: now, silenceTimeout: settings.silenceTimeout) { id in
            fabric.removePort(id)
            gates[Int(id)] = nil
            announce(id, registered: false, now: now)
        }
        meshHousekeeping(now: now)
        fabric.expire(now: now)
        if now >= nextRelayPrune {
            nextRelayPrune = now &+ .seconds(60)
            relayed.prune(now: now)
        }
    }

    // MARK: Relay

    /// A sealed port-to-port datagram to pass on unread: from a registered member (by address and
    /// tag), with a counter not used before, to another registered member; the origin's id goes
    /// where the destination's was, and the datagram leaves exactly as long as it came.
    private func relay(_ bytes: UnsafeRawBufferPointer, from sender: SocketAddress, now: Nanoseconds) {
        guard RelayHeader.isRelay(bytes) else {
            if let joins, JoinExchange.isJoinRequest(bytes) {
                joins.receive(bytes, from: sender, now: now, unixNow: UInt64(max(0, time(nil))))
            } else {
                hub.drops.record(.notAFrame)
            }
            return
        }
        guard settings.directPaths else { hub.drops.record(.relayNotOffered); return }
        guard bytes.count >= RelayHeader.minimumLength else { hub.drops.record(.tooShort); return }
        guard let from = hub.peer(at: sender), hub.peers[Int(from)].isUp, gates[Int(from)] != nil else {
            hub.drops.record(.relayFromNonMember); return
        }
        switch gates[Int(from)]!.check(bytes) {
        case .forged: hub.drops.record(.forgedRelayHeader); return
        case .replayed: hub.drops.record(.replayedRelayCounter); return
        case .accept: break
        }
        let to = RelayHeader.memberID(bytes)
        if relayToMember(bytes, from: from, to: to, now: now) { return }
        // Registered at another switch: the datagram goes there, still sealed.
        if Int(to) < hub.peers.count, to != from, hub.peers[Int(to)].isMember, relayAcross(bytes, from: from, to: to, now: now) {
            relayed.record(from: from, to: to, bytes: bytes.count, now: now)
        } else {
            hub.drops.record(.relayToUnknownMember)
        }
    }

    /// Passes a relay datagram to member `to` if it is registered here, as from `from`, exactly
    /// as long as it came; false if `to` is not up here (or is `from`).
    func relayToMember(_ bytes: UnsafeRawBufferPointer, from: PortID, to: PortID, now: Nanoseconds) -> Bool {
        guard Int(to) < hub.peers.count, to != from, hub.peers[Int(to)].isUp, let endpoint = hub.peers[Int(to)].endpoint else { return false }
        hub.io.forward(bytes, to: endpoint) { RelayHeader.setMemberID(from, in: $0) }
        relayed.record(from: from, to: to, bytes: bytes.count, now: now)
        return true
    }

    /// Sends `message` to every member registered here but `ingress`.
    func flood(_ message: UnsafeRawBufferPointer, except ingress: PortID, now: Nanoseconds) {
        for out in hub.peers.indices where out != Int(ingress) && hub.peers[out].isUp { hub.send(message, to: PortID(out), now: now) }
    }

    // MARK: Messages inside port sessions

    private func deliver(_ plaintext: UnsafeRawBufferPointer, from id: PortID, now: Nanoseconds) {
        let header: LanyardMessage.Header
        do { header = try LanyardMessage.parse(plaintext) } catch { hub.drops.record(.lanyardMalformed); return }
        let body = UnsafeRawBufferPointer(rebasing: plaintext[header.bodyRange])
        switch header.kind {
        case .frame, .switchedFrame:
            guard hub.peers[Int(id)].isUp else { hub.drops.record(.portNotRegistered); return }
            var frame = body
            if header.kind == .switchedFrame {
                guard body.count > 4 else { hub.drops.record(.lanyardMalformed); return }
                // Mark the origin in place (the plaintext is ours: the receive buffer or scratch).
                UnsafeMutableRawBufferPointer(mutating: body).storeBytes(of: id.bigEndian, toByteOffset: 0, as: UInt32.self)
                frame = UnsafeRawBufferPointer(rebasing: body[4...])
            }
            // Encrypt the Lanyard message again as it came, trimmed of padding: no copy of the frame.
            let message = UnsafeRawBufferPointer(rebasing: plaintext[0..<header.bodyRange.upperBound])
            switch fabric.decide(frame: frame, ingress: id, now: now) {
            case .drop: return
            case .unicast(let out):
                if hub.peers[Int(out)].isUp { hub.send(message, to: out, now: now) } else if mesh != nil { frameAcross(message, origin: id, to: out, now: now) }
            case .flood:
                flood(message, except: id, now: now)
                if mesh != nil { frameAcross(message, origin: id, to: nil, now: now) }
            }
        case .hello:
            welcome(id, now: now)
        case .ping:
            // A ping from a port this switch never welcomed (the switch restarted, and the port's
            // session with it was renewed by WireGuard's own timers, so the port never noticed):
            // welcome it now, or it would ping on without the relay key and member id that this
            // run of the switch gives, and its relayed traffic would be refused for good.
            if !hub.peers[Int(id)].isUp || (settings.directPaths && gates[Int(id)] == nil) { welcome(id, now: now) }
            hub.markUp(id, now: now)
            // The ping's 8-byte sequence and the membership revision (a body of another length is echoed as it came).
            let answer = body.count == 8 ? Array(body) + LanyardMessage.encodeUInt64(membershipRevision) : Array(body)
            LanyardMessage.encode(.pong, body: answer).withUnsafeBytes { hub.send($0, to: id, now: now) }
        case .bye:
            if hub.mayLogLeaving(id, now: now) { logger.info("port \(hub.name(of: id)) left") }
            hub.markDown(id)
            fabric.removePort(id)
            gates[Int(id)] = nil
            announce(id, registered: false, now: now)
        case .lookup:
            guard admitRequest(from: id, now: now) else { return }
            guard let request = try? LookupRequest(parsing: body) else { hub.drops.record(.lanyardMalformed); return }
            introduce(id, to: request, now: now)
        case .endpoints:
            guard admitRequest(from: id, now: now) else { return }
            guard let list = try? CandidateList(parsing: body) else { hub.drops.record(.lanyardMalformed); return }
            // Only addresses another host could use: no loopback, unspecified or multicast ones.
            localCandidates[Int(id)] = list.candidates.filter(\.isRoutable)
        case .vouch:
            guard admitRequest(from: id, now: now) else { return }
            guard let request = try? VouchRequest(parsing: body) else { hub.drops.record(.lanyardMalformed); return }
            let subject = request.id
            guard Int(subject) < hub.peers.count, hub.peers[Int(subject)].isMember else {
                hub.drops.record(.relayToUnknownMember); return
            }
            if !hub.peers[Int(subject)].isUp, introduceAcross(id, to: subject, mode: .question, now: now) {
                // Registered at another switch: that switch answers, with what it saw.
            } else if subject == id {
                // A port reports a MAC it uses (its unicast no longer passes here): learned under
                // the table's rules, so a MAC held by another live port is refused and counted.
                _ = fabric.vouch(request.mac, for: id, now: now)
            } else if fabric.table.port(of: request.mac, now: now) == subject {
                // Another port asks about a member's MAC: answered only from what the switch
                // already holds; one member can never make the switch learn a MAC for another.
                sendMemberInfo(about: subject, to: id, rendezvous: false, now: now)
            }
        case .welcome, .pong, .config, .member, .memberGone, .roster, .meshIntroduce, .meshFrame, .meshHello:
            hub.drops.record(.notAFrame)
        }
    }

    /// Directory requests are answered only for registered members, within a budget each.
    private func admitRequest(from id: PortID, now: Nanoseconds) -> Bool {
        guard settings.directPaths, hub.peers[Int(id)].isUp else { hub.drops.record(.relayNotOffered); return false }
        guard requestBudget[Int(id)].take(now: now) else { hub.drops.record(.lookupRateLimited); return false }
        return true
    }

    /// Lets port `id` in (its `hello`, or a ping from a port not yet welcomed): marks it up, gives
    /// it a relay key of this run (with direct paths), and sends the welcome.
    private func welcome(_ id: PortID, now: Nanoseconds) {
        // A registration starts now, also for a port this switch still held (it came back):
        // the other switches compare registration times when two claim one member.
        if !hub.markUp(id, now: now) { hub.restamp(id, now: now) }
        var directory: LanyardMessage.Welcome.Directory?
        if settings.directPaths {
            let gate = RelayGate()
            gates[Int(id)] = gate
            directory = .init(memberID: id, relayKey: gate.rawKey)
        }
        let welcome = LanyardMessage.Welcome(
            keepaliveSeconds: UInt16(clamping: settings.keepaliveInterval / 1_000_000_000),
            silenceTimeoutSeconds: UInt16(clamping: settings.silenceTimeout / 1_000_000_000), directory: directory)
        LanyardMessage.encode(.welcome, body: welcome.bytes).withUnsafeBytes { hub.send($0, to: id, now: now) }
        announce(id, registered: true, now: now)
    }

    /// Answers a lookup: the requester learns who the member is and where it might be; the member,
    /// if registered, learns the same of the requester (the rendezvous: both probe at once).
    private func introduce(_ requester: PortID, to request: LookupRequest, now: Nanoseconds) {
        let target: PortID?
        switch request {
        case .id(let t): target = Int(t) < hub.peers.count && hub.peers[Int(t)].isMember ? t : nil
        case .publicKey(let raw): target = (try? PublicKey(rawValue: raw)).flatMap { hub.directory.id(of: $0) }
        }
        guard let target, target != requester else {
            // Not (or no longer) a member: a port asking by key learns it is gone, so a removal
            // also reaches ports that missed `memberGone` or knew the member from before a restart.
            if case .publicKey(let raw) = request, raw.count == 32 {
                LanyardMessage.encode(.memberGone, body: raw).withUnsafeBytes { hub.send($0, to: requester, now: now) }
            }
            hub.drops.record(.relayToUnknownMember)
            return
        }
        // Registered at another switch: that switch introduces the two, and answers through us.
        if !hub.peers[Int(target)].isUp, introduceAcross(requester, to: target, mode: .rendezvous, now: now) { return }
        sendMemberInfo(about: target, to: requester, rendezvous: false, now: now)
        if hub.peers[Int(target)].isUp { sendMemberInfo(about: requester, to: target, rendezvous: true, now: now) }
    }

    private func sendMemberInfo(about subject: PortID, to recipient: PortID, rendezvous: Bool, now: Nanoseconds) {
        known[Int(subject)] = true
        let info = memberInfo(about: subject, rendezvous: rendezvous, now: now)
        LanyardMessage.encode(.member, body: info.bytes).withUnsafeBytes { hub.send($0, to: recipient, now: now) }
    }

    /// Who member `subject` is and where it might be reached, as this switch sees it.
    func memberInfo(about subject: PortID, rendezvous: Bool, now: Nanoseconds) -> MemberInfo {
        let peer = hub.peers[Int(subject)]
        let authorized = hub.directory.peers[Int(subject)]
        var candidates: [CandidateAddress] = []
        if peer.isUp, let observed = peer.endpoint?.candidate { candidates.append(observed) }
        for c in localCandidates[Int(subject)] where !candidates.contains(c) { candidates.append(c) }
        return MemberInfo(id: subject, isUp: peer.isUp, isRendezvous: rendezvous, publicKey: authorized.publicKey.rawValue,
                          pinnedMACs: authorized.macs, learnedMACs: fabric.table.macs(of: subject, now: now),
                          candidates: candidates, name: authorized.name)
    }

    // MARK: Membership changes

    /// Applies a new list of authorized ports while running: ports no longer listed (or listed
    /// with a different preshared key or pins) are cut off at once and every registered port is
    /// told to end its sessions with them; new ones may join; everyone else stays connected.
    /// Returns (added, removed).
    @discardableResult
    public func apply(_ list: [AuthorizedPeer], now: Nanoseconds) -> (added: Int, removed: Int) {
        // Only a new preshared key ends a member's sessions; a new name or new pins are applied
        // in place (ports learn the pins again through their vouch requests).
        let diff = hub.membershipDiff(to: list) { current, wanted in wanted.presharedKey == current.presharedKey }
        var announce = false
        for (slot, position) in diff.kept {
            let current = hub.directory.peers[slot], wanted = list[position]
            guard wanted.name != current.name || wanted.macs != current.macs else { continue }
            if wanted.macs != current.macs {
                // Learned entries of every MAC whose pin moved go, and ports that know the member
                // are made to look it up again (a new revision), so nobody keeps an old pin.
                fabric.unpinAll(of: PortID(slot))
                for mac in Set(current.macs).union(wanted.macs) { fabric.forget(mac) }
                for mac in wanted.macs { fabric.pin(mac, to: PortID(slot)) }
                if known[slot] || hub.peers[slot].isUp || hub.peers[slot].endpoint != nil { announce = true }
            }
            hub.directory.relabel(PortID(slot), as: wanted)
            logger.notice("port \(current.name) changed\(wanted.name != current.name ? ": now named \(wanted.name)" : ""); its sessions go on")
        }
        for i in diff.removed {
            let current = hub.directory.peers[i]
            let id = PortID(i)
            logger.notice("port \(current.name) removed from the network")
            // Only a member heard from or introduced in this run can have sessions with others to
            // end (one that never joined costs the others nothing: no fan-out, no new revision).
            // A member known from before a restart is looked up again by every port at its
            // welcome, which marks it known here.
            if known[i] || hub.peers[i].isUp || hub.peers[i].endpoint != nil {
                announce = true
                let gone = LanyardMessage.encode(.memberGone, body: current.publicKey.rawValue)
                gone.withUnsafeBytes { flood($0, except: id, now: now) }
            }
            if hub.peers[i].isUp { self.announce(id, registered: false, now: now) }
            fabric.deletePort(id)
            gates[i] = nil
            localCandidates[i] = []
            relayed.forget(id)
            mesh?.roster.forget(id)
            hub.remove(id)
        }
        if announce { membershipRevision &+= 1 }
        for position in diff.added {
            let p = list[position]
            let id = hub.add(p)
            growPerMemberState()
            gates[Int(id)] = nil
            localCandidates[Int(id)] = []
            relayed.forget(id)   // nothing the slot's previous member relayed is credited to this one
            mesh?.roster.forget(id)
            requestBudget[Int(id)] = TokenBucket(rate: 20, burst: 40)
            announceBudget[Int(id)] = TokenBucket(rate: 1, burst: 5)
            announced[Int(id)] = false
            known[Int(id)] = false
            for mac in p.macs { fabric.pin(mac, to: id) }
            logger.notice("port \(p.name) added to the network")
        }
        if !diff.added.isEmpty { requestRosters() }
        hub.flush()
        return (diff.added.count, diff.removed.count)
    }

    /// Tells every registered port that the switch is going away, so they re-register at once.
    public func sayGoodbye(now: Nanoseconds) {
        hub.sayGoodbye(now: now)
        mesh?.hub.sayGoodbye(now: now)
    }

    /// One line for systemd's status.
    public func summary() -> String { "\(hub.upSummary("ports")), \(fabric.table.count) MACs" }

    /// A snapshot of ports, MAC table, relayed traffic and drop counters.
    public func status(now: Nanoseconds, listen: String, publicKey: String, scope: StatusScope = .all) -> SwitchStatus {
        var rows: [SwitchStatus.Port] = []
        var macs: [SwitchStatus.MACEntry] = []
        switch scope {
        case .all:
            var macsByPort: [PortID: Int] = [:]
            let table = fabric.table.snapshot()
            for (_, entry) in table { macsByPort[entry.port, default: 0] += 1 }
            macs = table.map { mac, entry in
                SwitchStatus.MACEntry(mac: mac.description, port: hub.name(of: entry.port), ageSeconds: seconds(now &- entry.lastSeen))
            }
            rows = hub.statusRows(now: now) { macsByPort[$0, default: 0] }
        case .summary:
            break
        case .ports:
            rows = hub.statusRows(now: now) { fabric.table.count(of: $0) }
        case .page(let offset, let limit):
            // This page's ports and their MACs: one pass over the table, strings for the page only.
            rows = hub.statusRows(now: now, range: offset..<(offset + limit)) { fabric.table.count(of: $0) }
            let ids = Set(rows.map { PortID($0.id) })
            fabric.table.forEachEntry { mac, entry in
                guard ids.contains(entry.port) else { return }
                macs.append(.init(mac: mac.description, port: hub.name(of: entry.port), ageSeconds: seconds(now &- entry.lastSeen)))
            }
        }
        let pairs = relayed.pairs.sorted { $0.key < $1.key }.map { key, p in
            SwitchStatus.RelayPair(from: hub.name(of: PortID(key >> 32)), to: hub.name(of: PortID(key & 0xFFFF_FFFF)),
                                   packets: p.traffic.txPackets, bytes: p.traffic.txBytes)
        }
        var s = SwitchStatus(name: settings.name, listen: listen, publicKey: publicKey, ports: rows, macTable: macs,
                             datagramDrops: countsByName(hub.drops.nonZero),
                             frameDrops: countsByName(fabric.drops.nonZero))
        if scope != .all {
            let (members, up) = hub.counts()   // (.ports: metrics read the MAC count from here)
            s.portCount = members
            s.portsUp = up
            s.macCount = fabric.table.count
        }
        s.mode = settings.directPaths ? "direct paths" : "relay all"
        s.relayPairs = pairs
        s.relayedPackets = relayed.total.txPackets
        s.relayedBytes = relayed.total.txBytes
        s.handshakes = hub.handshakes
        s.cookieReplies = hub.cookieReplies
        s.underLoad = hub.isUnderLoad
        s.batching = hub.io.batching
        s.macMoves = fabric.moves
        s.store = store
        s.joins = joins?.counters
        s.mesh = meshStatus(now: now)
        if let mesh {
            // A member registered at another switch is up there: say where.
            for i in s.ports.indices where s.ports[i].state != "up" {
                if let at = mesh.roster.location(of: s.ports[i].id), mesh.isUp(at.peer) {
                    s.ports[i].state = "up at \(mesh.hub.name(of: at.peer))"
                }
            }
        }
        return s
    }
}
