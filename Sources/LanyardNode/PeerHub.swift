import LanyardWireGuard
import LanyardCore
import LanyardLinux
import Logging

/// Sessions with many peers on one UDP socket: the switch's and the VPN server's authorized
/// peers, and a port's end-to-end sessions with the other members. A WireGuard session per peer,
/// batched receive and send, silence detection and handshake-flood detection. Where a peer's
/// datagrams go is its route: an endpoint that follows roaming (a hub's peers), or one the owner
/// chooses, possibly through the switch's relay (a port's members). What is inside the sessions
/// is the owner's.
public final class PeerHub {
    /// One authorized peer's live state.
    public struct Peer {
        var link: SecureLink
        /// Where its datagrams go (the switch's address when they go through the relay).
        public internal(set) var endpoint: SocketAddress?
        /// When set, datagrams are wrapped for the relay with this destination member id.
        public internal(set) var relayMember: UInt32?
        /// Said `hello` (Lanyard peers) or sent authenticated data (stock WireGuard peers).
        public internal(set) var isUp = false
        public internal(set) var upSince: Nanoseconds = 0
        public internal(set) var lastHeard: Nanoseconds = 0
        public internal(set) var traffic = TrafficCounters()
        /// False once removed from the directory (the slot waits for reuse).
        public internal(set) var isMember = true
        /// When its coming up and its leaving were last logged (at most once a minute each, so a
        /// peer that comes and goes in a loop cannot flood the log).
        var upLogged: Nanoseconds?
        var leftLogged: Nanoseconds?
    }

    /// How an authenticated datagram arrived.
    public enum Arrival: Equatable {
        /// Straight from this address.
        case direct(SocketAddress)
        /// Through the switch's relay.
        case relayed
    }

    let directory: PeerDirectory
    public let io: BatchedSocket
    let logger: Logger
    /// Hubs (switch, server) move a peer's endpoint to wherever its authenticated datagrams come
    /// from; a port's member sessions keep the route their path selection chose.
    let followsRoaming: Bool
    /// The tagger for datagrams sent through the relay (a port's member sessions only).
    var relaySender: RelaySender?
    public private(set) var peers: [Peer]
    public internal(set) var drops = ReasonCounters<DatagramDropReason>()
    /// Handshakes completed (answered initiations and accepted responses).
    public private(set) var handshakes: UInt64 = 0
    private var idByEndpoint: [SocketAddress: PortID] = [:]
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 64)
    private var nextHousekeeping: Nanoseconds = 0
    /// Where the next housekeeping pass resumes its sweep of the peers.
    private var sweepCursor = 0
    /// Up to this many peers, every pass visits all of them; above, each pass visits a quarter,
    /// so a peer's timers and silence are looked at once a second, whatever the table's size.
    static let fullSweepLimit = 256
    /// Time spent on valid-looking initiations (screening and answering) since the last
    /// housekeeping pass, and when that pass was.
    private var initiationWork: Nanoseconds = 0
    private var windowStart: Nanoseconds = 0
    /// Valid-looking initiations since the last pass, and what one full handshake cost on
    /// average while no cookies were demanded: under load most are answered with cheap cookie
    /// replies, so the load is judged by what they would cost without them.
    private var recentInitiations = 0
    private var handshakeCost: Double = 0
    /// The clock that times handshake work (a test's may step by a fixed amount).
    var workClock: () -> Nanoseconds = { monotonicNanoseconds() }
    /// The drop counters at the last per-minute summary of handshake failures.
    private var dropsAtLastSummary = ReasonCounters<DatagramDropReason>()
    private var nextSummary: Nanoseconds = 0
    static let handshakeFailures: [DatagramDropReason] = [.unknownPeerKey, .handshakeFailed, .staleOrReplayedHandshake, .cookieRequired, .invalidMac1, .handshakeBudgetExhausted]
    /// Whether the hub demands cookies (too many valid-looking initiations recently).
    public private(set) var isUnderLoad = false
    /// Cookie replies sent since start.
    public private(set) var cookieReplies: UInt64 = 0
    /// Time spent since the last pass on initiations that passed mac1 and then failed (a stranger's
    /// key, random fields, a replay): what a flood by someone who knows our public key costs.
    private var failedWork: Nanoseconds = 0
    /// Whether the current load was declared because of failing initiations (then it ends by
    /// `floodShare`'s measure, not `loadShare`'s).
    private var loadIsFlood = false
    /// Initiations that pass mac1 and then fail cost a Diffie-Hellman each and serve nobody: when
    /// they take more than a tenth of the hub's time, cookies are demanded. An honest join storm
    /// (initiations that succeed) is judged by `loadShare` alone, so it is not slowed by cookies.
    static let floodShare = 0.1
    /// Time spent screening initiations (valid or not) since the last housekeeping pass, and the
    /// most it may take under a flood: half of a pass's 0.25 s. Past it, initiations without a
    /// valid cookie are dropped unanswered, so data, keepalives and members with cookies keep
    /// the rest. (An honest join storm is not held to it: every joiner gets its cookie reply at
    /// once instead of waiting 5 s for a retry.)
    private var handshakeTime: Nanoseconds = 0
    static let handshakeBudget: Nanoseconds = .seconds(0.125)
    /// What an initiation's screening showed, for the load measures.
    enum InitiationWork { case garbage, failed, valid }

    /// Counts `spent` towards the budget and the load measures; declares load at once, not at the
    /// next housekeeping pass (a busy loop may take a while to get there, and a flood costs a
    /// Diffie-Hellman per datagram until then).
    private func account(_ work: InitiationWork, _ spent: Nanoseconds, now: Nanoseconds) {
        handshakeTime &+= spent
        if work != .garbage { initiationWork &+= spent }
        if work == .failed { failedWork &+= spent }
        guard !isUnderLoad else { return }
        // The same shares as the housekeeping pass's, of the time since that pass (a pass late
        // because the loop was busy must not make honest work look like load).
        let window = Double(max(now &- windowStart, .seconds(0.25)))
        let flood = Double(failedWork) > window * Self.floodShare
        if flood || Double(initiationWork) > window * Self.loadShare { enterLoad(flood: flood) }
    }

    private func enterLoad(flood: Bool) {
        // The cost of one full handshake, from what led here (the estimate that keeps the hub
        // under load while cookie replies make initiations cheap).
        if recentInitiations > 0 {
            let cost = Double(initiationWork) / Double(recentInitiations)
            handshakeCost = handshakeCost == 0 ? cost : 0.8 * handshakeCost + 0.2 * cost
        }
        isUnderLoad = true
        loadIsFlood = flood
        directory.setUnderLoad(true)
        if flood {
            logger.warning("handshake flood (initiations with a valid mac1 that fail): demanding cookies")
        } else {
            logger.notice("handshake load (handshakes take over \(Int(Self.loadShare * 100))% of the time): demanding cookies")
        }
    }
    /// The hub demands cookies when handshakes took more than three quarters of its time since the
    /// last pass: then they crowd out everything else, which is the load cookies exist for. A
    /// join of thousands of members the hub can absorb is not load, and costs nobody a cookie
    /// round trip (a fixed rate would be wrong on every machine but one).
    static let loadShare = 0.75

    public init(directory: PeerDirectory, io: BatchedSocket, followsRoaming: Bool = true, logger: Logger) {
        self.directory = directory
        self.io = io
        self.followsRoaming = followsRoaming
        self.logger = logger
        peers = directory.peers.indices.map { Peer(link: directory.link(for: PortID($0))) }
    }

    public convenience init(directory: PeerDirectory, socket: UDPSocket, logger: Logger) {
        self.init(directory: directory, io: BatchedSocket(socket), logger: logger)
    }

    deinit { scratch.deallocate() }

    public func name(of id: PortID) -> String { directory.peers[Int(id)].name }

    /// The current peer whose endpoint is `address` (hubs only).
    func peer(at address: SocketAddress) -> PortID? { idByEndpoint[address] }

    /// Lets a new peer in while running; returns its id.
    @discardableResult
    public func add(_ peer: AuthorizedPeer) -> PortID {
        let id = directory.add(peer)
        let fresh = Peer(link: directory.link(for: id))
        if Int(id) == peers.count { peers.append(fresh) } else { peers[Int(id)] = fresh }
        return id
    }

    /// What replacing the member list with `list` changes (see `MembershipDiff`); `same(current,
    /// wanted)` says whether an entry keeps a current member as it is.
    public func membershipDiff(to list: [AuthorizedPeer], same: (AuthorizedPeer, AuthorizedPeer) -> Bool) -> MembershipDiff<PublicKey> {
        let current = peers.indices.filter { peers[$0].isMember }.map { (slot: $0, key: directory.peers[$0].publicKey) }
        return MembershipDiff(current: current, wanted: list.map(\.publicKey)) { slot, position in
            same(directory.peers[slot], list[position])
        }
    }

    /// Removes a peer while running: its sessions end at once, its key is refused from now on.
    public func remove(_ id: PortID) {
        guard Int(id) < peers.count, peers[Int(id)].isMember else { return }
        directory.remove(id)
        if let e = peers[Int(id)].endpoint, idByEndpoint[e] == id { idByEndpoint[e] = nil }
        peers[Int(id)].isMember = false
        peers[Int(id)].isUp = false
        peers[Int(id)].endpoint = nil
    }

    /// Chooses where a peer's datagrams go: straight to `endpoint`, or through the relay at
    /// `endpoint` naming `relayMember`.
    func setRoute(_ id: PortID, endpoint: SocketAddress, relayMember: UInt32?) {
        let address = io.socket.adapt(endpoint)
        if followsRoaming {
            // A hub's peer reached at a known address (another switch): known there at once,
            // unless another peer lives at that address now (a stale entry must not take it).
            if let old = peers[Int(id)].endpoint, idByEndpoint[old] == id { idByEndpoint[old] = nil }
            if let holder = idByEndpoint[address], holder != id, isLive(holder, at: address, now: monotonicNanoseconds()) {
                drops.record(.addressHeldByOtherPeer)
            } else {
                idByEndpoint[address] = id
            }
        }
        peers[Int(id)].endpoint = address
        peers[Int(id)].relayMember = relayMember
    }

    /// Receives every waiting datagram; authenticated non-empty plaintext goes to `deliver`.
    /// Lanyard's own datagrams (relay, join) go to `relay` (the switch) or are dropped.
    public func receiveAll(now: Nanoseconds, deliver: (UnsafeRawBufferPointer, PortID) -> Void,
                           relay: ((UnsafeRawBufferPointer, SocketAddress) -> Void)? = nil) throws(SystemError) {
        guard let parallelOpens else {
            try io.receiveAll(oversized: { drops.record(.oversized) }) { bytes, sender in
                if let relay, RelayHeader.isLanyardDatagram(bytes) { relay(bytes, sender()); return }
                handle(bytes, from: sender, arrival: nil, expected: nil, now: now) { plaintext, id, _ in deliver(plaintext, id) }
            }
            return
        }
        // With crypto threads: a batch's data messages are checked in order, decrypted together,
        // then finished and delivered in order; everything else is handled as it comes.
        func delivered(_ plaintext: UnsafeRawBufferPointer, _ id: PortID, _: Arrival) { deliver(plaintext, id) }
        try io.receiveAll(oversized: { drops.record(.oversized) }, batchDone: {
            parallelOpens.finish(now: now) { action, c in
                opened(action, id: c.id, type: WireMessage.transportData, how: c.how, out: c.out, count: c.count,
                       now: now, deliver: delivered)
            }
        }) { bytes, sender in
            if let relay, RelayHeader.isLanyardDatagram(bytes) { relay(bytes, sender()); return }
            guard case .success(WireMessage.transportData) = WireMessage.classify(bytes),
                  let id = directory.peer(owningIndex: WireMessage.receiverIndex(bytes)) else {
                handle(bytes, from: sender, arrival: nil, expected: nil, now: now, deliver: delivered)
                return
            }
            let out = WireMessage.output(for: bytes, scratch: scratch)
            let how = Arrival.direct(sender())
            if let action = parallelOpens.begin(bytes, into: out, on: peers[Int(id)].link, now: now,
                                                context: (id, how, out, bytes.count)) {
                opened(action, id: id, type: WireMessage.transportData, how: how, out: out, count: bytes.count,
                       now: now, deliver: delivered)
            }
        }
    }

    /// With crypto threads: each received batch's data messages, decrypted together.
    private var parallelOpens: ParallelOpens<(id: PortID, how: Arrival, out: UnsafeMutableRawBufferPointer, count: Int)>?

    /// Spreads encryption (of everything sent through `send`) and decryption (of datagrams read
    /// by `receiveAll`) over `workers`' threads; nothing changes with one thread.
    public func useCryptoWorkers(_ workers: CryptoWorkers) {
        guard workers.threads > 1 else { return }
        io.useCryptoWorkers(workers)
        parallelOpens = ParallelOpens(workers: workers)
    }

    /// Handles one datagram. `arrival` nil means straight from `sender`; `expected` is the peer a
    /// relayed datagram claims to come from (anything else is dropped).
    func handle(_ bytes: UnsafeRawBufferPointer, from sender: () -> SocketAddress, arrival: Arrival?, expected: PortID?,
                now: Nanoseconds, deliver: (UnsafeRawBufferPointer, PortID, Arrival) -> Void) {
        let type: UInt8
        switch WireMessage.classify(bytes) {
        case .success(let t): type = t
        case .failure(let box): drops.record(box.reason); return
        }
        let id: PortID
        // Time spent on an initiation, from screening to the answer queued; what it counts
        // towards is decided once its verdict is known.
        var workStarted: Nanoseconds = 0
        var work = InitiationWork.garbage
        defer { if workStarted != 0 { account(work, workClock() &- workStarted, now: now) } }
        if type == WireMessage.initiation {
            let from = sender()
            // Initiations through the relay all come from the switch's address: their cookies
            // are bound to the member that sent them, and cookie replies go back to it the way
            // its datagrams go (through the relay while its route is relayed).
            let relayedFrom = arrival == .relayed ? expected : nil
            // Over the budget under load, an initiation without a valid cookie is dropped with
            // no reply (a mac2 of all zeros unread, any other checked with two keyed hashes):
            // one that carries a valid cookie is still handled, so members that answered a
            // cookie reply get in while the flood is shed.
            if isUnderLoad, loadIsFlood, handshakeTime >= Self.handshakeBudget,
               !WireMessage.hasMac2(bytes) || !directory.hasValidCookie(bytes, sender: relayedFrom.map(Self.relayedSource) ?? from.identityBytes, now: now) {
                drops.record(.handshakeBudgetExhausted); return
            }
            workStarted = workClock()
            let verdict = directory.screenInitiation(bytes, sender: relayedFrom.map(Self.relayedSource) ?? from.identityBytes,
                                                     into: scratch, now: now)
            // Every initiation with a valid mac1 (made by someone who knows our public key) is
            // load, whatever its fate: garbage without one must not push honest peers through
            // cookie round trips, but a flood of valid-looking ones that fail later is the load
            // cookies exist for, and is weighed as such (see `floodShare`).
            switch verdict {
            case .drop(.invalidMac1): work = .garbage
            case .drop: work = .failed; recentInitiations += 1
            default: work = .valid; recentInitiations += 1
            }
            switch verdict {
            case .peer(let p): id = p
            case .reply(let n):
                cookieReplies &+= 1
                let reply = UnsafeRawBufferPointer(rebasing: scratch[0..<n])
                if let member = relayedFrom, let endpoint = peers[Int(member)].endpoint {
                    io.enqueue(reply, to: endpoint, relay: wrap(member))
                } else {
                    io.enqueue(reply, to: from)
                }
                return
            case .drop(let reason): drops.record(reason); return
            }
        } else {
            guard let p = directory.peer(owningIndex: WireMessage.receiverIndex(bytes)) else {
                drops.record(.unknownReceiverIndex); return
            }
            id = p
        }
        if let expected, expected != id { drops.record(.relayOriginMismatch); return }
        let out = WireMessage.output(for: bytes, scratch: scratch)
        let how = arrival ?? .direct(sender())
        opened(peers[Int(id)].link.open(bytes, into: out, now: now), id: id, type: type, how: how, out: out, count: bytes.count,
               now: now, deliver: deliver)
    }

    /// The identity a relayed member's cookies are bound to (in place of an address: 7 bytes,
    /// which no address identity has).
    static func relayedSource(_ id: PortID) -> [UInt8] {
        [0xFF, 0x52, 0x4C] + withUnsafeBytes(of: UInt32(id).littleEndian, Array.init)
    }

    /// What follows opening a datagram of `type` from peer `id`: counts, roaming, replies, delivery.
    private func opened(_ action: LinkAction, id: PortID, type: UInt8, how: Arrival, out: UnsafeMutableRawBufferPointer,
                        count: Int, now: Nanoseconds, deliver: (UnsafeRawBufferPointer, PortID, Arrival) -> Void) {
        switch action {
        case .none:
            if type == WireMessage.response { handshakes &+= 1 }
            // A cookie reply is not proof that the peer is at that address: it moves nothing.
            if type != WireMessage.cookieReply { authenticated(id, how, bytes: count, now: now) }
        case .drop(let reason): drops.record(reason); return
        case .send(let n):
            if type == WireMessage.initiation { handshakes &+= 1 }
            authenticated(id, how, bytes: count, now: now)
            let reply = UnsafeRawBufferPointer(rebasing: out[0..<n])
            if let endpoint = peers[Int(id)].endpoint {
                io.enqueue(reply, to: endpoint, relay: wrap(id))
            } else if case .direct(let a) = how {
                io.enqueue(reply, to: a)
            }
        case .deliver(let n):
            authenticated(id, how, bytes: count, now: now)
            if n > 0 { deliver(UnsafeRawBufferPointer(rebasing: out[0..<n]), id, how) }
        }
        drain(id, now: now)
    }

    /// How long an address stays another peer's after that peer was last heard (see `authenticated`).
    static let endpointHold: Nanoseconds = .seconds(15)

    /// An authenticated message arrived: a hub's peer endpoint follows it (roaming, NAT rebinding),
    /// unless the address is another live peer's: a member that sends one datagram of its own
    /// session from another member's address (spoofed, or through the same NAT mapping) does not
    /// take that address over, which would hand it the other's relayed traffic and cut the other
    /// off. The address can change hands once its holder has been silent for `endpointHold`, or
    /// has itself moved on.
    private func authenticated(_ id: PortID, _ arrival: Arrival, bytes: Int, now: Nanoseconds) {
        let i = Int(id)
        if followsRoaming, case .direct(let address) = arrival {
            if peers[i].endpoint != address, let holder = idByEndpoint[address], holder != id, isLive(holder, at: address, now: now) {
                drops.record(.addressHeldByOtherPeer)   // delivered, but the endpoint stays where it was
            } else if peers[i].endpoint != address {
                if let old = peers[i].endpoint {
                    logger.info("\(name(of: id)) moved from \(old) to \(address)")
                    if idByEndpoint[old] == id { idByEndpoint[old] = nil }
                }
                idByEndpoint[address] = id
                peers[i].endpoint = address
            } else if peers[i].endpoint?.replySource != address.replySource {
                peers[i].endpoint = address   // same peer address, sent to another of ours: answer from there
            }
        }
        peers[i].lastHeard = now
        peers[i].traffic.received(bytes)
    }

    /// Whether `holder` still uses `address`: its endpoint, heard from within `endpointHold`.
    private func isLive(_ holder: PortID, at address: SocketAddress, now: Nanoseconds) -> Bool {
        let h = Int(holder)
        return h < peers.count && peers[h].isMember && peers[h].endpoint == address && now &- peers[h].lastHeard < Self.endpointHold
    }

    /// Marks a peer up (it said hello, or sent data). Returns true if it was down.
    @discardableResult
    public func markUp(_ id: PortID, now: Nanoseconds) -> Bool {
        guard !peers[Int(id)].isUp else { return false }
        peers[Int(id)].isUp = true
        peers[Int(id)].upSince = now
        if Self.mayLog(&peers[Int(id)].upLogged, now: now) {
            logger.info("\(name(of: id)) up from \(peers[Int(id)].endpoint.map(String.init(describing:)) ?? "?")")
        }
        return true
    }

    /// A peer already up registered again (it came back): its time up starts now.
    func restamp(_ id: PortID, now: Nanoseconds) { peers[Int(id)].upSince = now }

    /// Whether a peer that was up and said `bye` may be logged as leaving now (once a minute at most).
    public func mayLogLeaving(_ id: PortID, now: Nanoseconds) -> Bool {
        peers[Int(id)].isUp && Self.mayLog(&peers[Int(id)].leftLogged, now: now)
    }

    private static func mayLog(_ stamp: inout Nanoseconds?, now: Nanoseconds) -> Bool {
        if let last = stamp, now &- last < .seconds(60) { return false }
        stamp = now
        return true
    }

    /// Marks a peer down (it left, or fell silent).
    public func markDown(_ id: PortID) { peers[Int(id)].isUp = false }

    @inline(__always)
    private func wrap(_ id: PortID) -> RelayWrap? {
        guard let member = peers[Int(id)].relayMember, let relaySender else { return nil }
        return RelayWrap(sender: relaySender, member: member)
    }

    /// Encrypts `plaintext` for peer `id` into the outgoing batch, on its route (dropped if it
    /// has none yet).
    public func send(_ plaintext: UnsafeRawBufferPointer, to id: PortID, now: Nanoseconds) {
        guard let endpoint = peers[Int(id)].endpoint else { return }
        if case .send(let n) = io.seal(plaintext, on: peers[Int(id)].link, to: endpoint, relay: wrap(id), now: now) {
            peers[Int(id)].traffic.sent(n)
        }
    }

    /// Encrypts `plaintext` for peer `id` straight to `address`, whatever its route (path probes).
    func send(_ plaintext: UnsafeRawBufferPointer, to id: PortID, at address: SocketAddress, now: Nanoseconds) {
        guard peers[Int(id)].link.isEstablished(now: now) else { return }
        if case .send(let n) = io.seal(plaintext, on: peers[Int(id)].link, to: io.socket.adapt(address), now: now) {
            peers[Int(id)].traffic.sent(n)
        }
    }

    /// Starts a new handshake with peer `id` on its route now, whatever its session (a port's
    /// member that restarted and lost the keys we still hold).
    func initiateHandshake(_ id: PortID, now: Nanoseconds) {
        guard let endpoint = peers[Int(id)].endpoint else { return }
        if case .send(let n) = peers[Int(id)].link.initiateHandshake(into: scratch, now: now) {
            io.enqueue(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), to: endpoint, relay: wrap(id))
        }
    }

    /// Whether `bytes` (a WireGuard message said to come from peer `id`) belongs to a session we
    /// do not hold: a data message or response for a receiver index nobody owns, from a peer we
    /// have not heard from for 3 s (with a live session, stale datagrams of an old one are
    /// normal and need nothing).
    func isForLostSession(_ bytes: UnsafeRawBufferPointer, from id: PortID, now: Nanoseconds) -> Bool {
        guard case .success(let type) = WireMessage.classify(bytes),
              type == WireMessage.transportData || type == WireMessage.response,
              now &- peers[Int(id)].lastHeard > .seconds(3) else { return false }
        return directory.peer(owningIndex: WireMessage.receiverIndex(bytes)) == nil
    }

    /// Whether peer `id` has a session that can carry data now.
    func isEstablished(_ id: PortID, now: Nanoseconds) -> Bool { peers[Int(id)].link.isEstablished(now: now) }

    /// When peer `id`'s last handshake completed.
    func lastHandshake(_ id: PortID) -> Nanoseconds? { peers[Int(id)].link.lastHandshake }

    /// Timers, four times a second: handshake-flood detection, the peers' link timers, and silence.
    /// `onSilent` is called (and the peer marked down) for an up peer silent longer than
    /// `silenceTimeout`. A large table is swept a quarter per pass (see `fullSweepLimit`): the work
    /// per second is one look at each peer, not four, and data-driven timers run on the data
    /// path anyway (after each datagram received or sent).
    public func housekeeping(now: Nanoseconds, silenceTimeout: Nanoseconds, onSilent: (PortID) -> Void) {
        guard now >= nextHousekeeping else { return }
        nextHousekeeping = now + .seconds(0.25)
        let window = Double(max(now &- windowStart, .seconds(0.25)))
        if !isUnderLoad, recentInitiations > 0 {
            let cost = Double(initiationWork) / Double(recentInitiations)
            handshakeCost = handshakeCost == 0 ? cost : 0.8 * handshakeCost + 0.2 * cost
        }
        // Under load: what the initiations would cost without cookies; leave below two thirds of
        // the threshold, so that the hub does not flap in and out of cookie mode.
        let share = isUnderLoad ? Double(recentInitiations) * handshakeCost / window : Double(initiationWork) / window
        let failedShare = Double(failedWork) / window
        if isUnderLoad {
            if share <= (loadIsFlood ? Self.floodShare : Self.loadShare) * 2 / 3 {
                isUnderLoad = false
                directory.setUnderLoad(false)
                logger.notice("handshake load normal again")
            }
        } else if share > Self.loadShare || failedShare > Self.floodShare {
            enterLoad(flood: failedShare > Self.floodShare)
        }
        initiationWork = 0
        failedWork = 0
        handshakeTime = 0
        recentInitiations = 0
        windowStart = now
        if now >= nextSummary {
            // One line a minute about failed handshakes, never one per datagram.
            let failed = drops.increase(since: dropsAtLastSummary, among: Self.handshakeFailures)
            if !failed.isEmpty {
                logger.notice("handshakes refused in the last minute: \(failed.map { "\($0.1) \($0.0)" }.joined(separator: ", "))")
            }
            dropsAtLastSummary = drops
            nextSummary = now &+ .seconds(60)
        }
        let visits = peers.count <= Self.fullSweepLimit ? peers.count : (peers.count + 3) / 4
        for _ in 0..<visits {
            if sweepCursor >= peers.count { sweepCursor = 0 }
            let i = sweepCursor
            sweepCursor += 1
            guard peers[i].endpoint != nil else { continue }
            if peers[i].isUp && now &- peers[i].lastHeard > silenceTimeout {
                logger.notice("\(name(of: PortID(i))) silent for \(seconds(now &- peers[i].lastHeard)) s: dropped")
                markDown(PortID(i))
                onSilent(PortID(i))
                continue
            }
            drain(PortID(i), now: now)
        }
        flush()
    }

    /// Sends whatever the peer's link has queued (data held during a handshake, timer messages).
    private func drain(_ id: PortID, now: Nanoseconds) {
        guard let endpoint = peers[Int(id)].endpoint else { return }
        io.drain(peers[Int(id)].link, to: endpoint, relay: wrap(id), now: now)
    }

    /// Sends the outgoing batch.
    public func flush() { io.flush() }

    /// Tells every up peer the hub is going away.
    public func sayGoodbye(now: Nanoseconds) {
        LanyardMessage.encode(.bye).withUnsafeBytes { message in
            for i in peers.indices where peers[i].isUp { send(message, to: PortID(i), now: now) }
        }
        flush()
    }

    /// "3 of 5 ports up": for systemd's status line (walks the peers; called every few seconds).
    func upSummary(_ noun: String) -> String {
        let (members, up) = counts()
        return "\(up) of \(members) \(noun) up"
    }

    /// How many peers are members and how many of those are up (one walk, no allocation).
    func counts() -> (members: Int, up: Int) {
        var up = 0, members = 0
        for p in peers where p.isMember { members += 1; if p.isUp { up += 1 } }
        return (members, up)
    }

    /// Port rows for status output: every member, or the members at positions `range` among them.
    func statusRows(now: Nanoseconds, range: Range<Int>? = nil, macs: (PortID) -> Int) -> [SwitchStatus.Port] {
        var members = peers.indices.filter { peers[$0].isMember }[...]
        if let range { members = members.dropFirst(range.lowerBound).prefix(range.count) }
        return members.map { i in
            let id = PortID(i)
            let p = peers[i]
            return SwitchStatus.Port(
                id: id, name: name(of: id), publicKey: directory.peers[i].publicKey.base64,
                state: p.isUp ? "up" : (p.endpoint == nil ? "never seen" : "down"),
                endpoint: p.endpoint?.description,
                connectedSeconds: p.isUp ? seconds(now &- p.upSince) : nil,
                lastHeardSeconds: p.endpoint == nil ? nil : seconds(now &- p.lastHeard),
                lastHandshakeSeconds: p.link.lastHandshake.map { seconds(now &- $0) },
                macs: macs(id), traffic: p.traffic)
        }
    }
}
