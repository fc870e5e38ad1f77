import LanyardCore
import LanyardLinux
import LanyardWireGuard

/// Reads the wall clock for TAI64N timestamps of handshake initiations.
@Sendable func systemWallClock() -> WallClockTime {
    let now = wallClock()
    return WallClockTime(seconds: Int64(now.seconds), nanoseconds: now.nanoseconds)
}

/// `SecureLink` on a `WireGuardPeer`: translates the protocol's results into the node's actions.
public final class WireGuardLink: SecureLink {
    public let peer: WireGuardPeer

    /// A link for a single-peer node (port, tunnel).
    public convenience init(privateKey: PrivateKey, peerKey: PublicKey, presharedKey: PresharedKey?,
                            persistentKeepalive: Int? = nil) {
        self.init(peer: WireGuardPeer(localPrivate: privateKey, peerPublic: peerKey, presharedKey: presharedKey,
                                      indexAllocator: IndexAllocator(),
                                      persistentKeepalive: persistentKeepalive.map { UInt16(clamping: $0) },
                                      wallClock: systemWallClock))
    }

    public init(peer: WireGuardPeer) { self.peer = peer }

    /// The datagram sender's identity, for cookie replies (set by the node before `open`).
    public var source: [UInt8] = []

    public func seal(_ plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, now: Nanoseconds) -> LinkAction {
        Self.action(peer.encapsulate(plaintext: plaintext, into: out, now: Timestamp(nanoseconds: now)))
    }

    public func open(_ datagram: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, now: Nanoseconds) -> LinkAction {
        Self.action(peer.decapsulate(datagram: datagram, into: out, now: Timestamp(nanoseconds: now), source: source))
    }

    public func seal(_ plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, now: Nanoseconds,
                     deferringTo queue: CryptoQueue) -> LinkAction {
        Self.action(peer.encapsulate(plaintext: plaintext, into: out, now: Timestamp(nanoseconds: now), deferringTo: queue))
    }

    public func beginOpen(_ datagram: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, now: Nanoseconds,
                          queue: CryptoQueue) -> LinkOpenStep {
        switch peer.beginOpen(datagram: datagram, into: out, now: Timestamp(nanoseconds: now), queue: queue, source: source) {
        case .queued(let pending): .queued(pending)
        case .done(let result): .done(Self.action(result))
        }
    }

    public func finishOpen(_ pending: PendingOpen, queue: CryptoQueue, now: Nanoseconds) -> LinkAction {
        Self.action(peer.finishOpen(pending, queue: queue, now: Timestamp(nanoseconds: now)))
    }

    public func poll(into out: UnsafeMutableRawBufferPointer, now: Nanoseconds) -> LinkAction {
        let t = Timestamp(nanoseconds: now)
        if case .writeToNetwork(let n) = peer.dequeue(into: out, now: t) { return .send(n) }
        return Self.action(peer.updateTimers(now: t, into: out))
    }

    public func initiateHandshake(into out: UnsafeMutableRawBufferPointer, now: Nanoseconds) -> LinkAction {
        Self.action(peer.initiateHandshake(into: out, now: Timestamp(nanoseconds: now)))
    }

    public func isEstablished(now: Nanoseconds) -> Bool { peer.isSessionEstablished(now: Timestamp(nanoseconds: now)) }

    public var lastHandshake: Nanoseconds? { peer.stats.lastHandshake?.nanoseconds }

    public func wipeIfPossible() { if peer.hasKeyMaterial { peer.wipe() } }

    static func action(_ result: PeerResult) -> LinkAction {
        switch result {
        case .done: return .none
        case .writeToNetwork(let n): return .send(n)
        case .writeToTunnel(let n): return .deliver(n)
        case .error(let e): return .drop(DatagramDropReason(e))
        }
    }
}

extension DatagramDropReason {
    init(_ error: PeerError) {
        switch error {
        case .replay: self = .replayed
        case .decryptFailed: self = .decryptionFailed
        case .wrongIndex: self = .unknownReceiverIndex
        case .wrongLength: self = .wrongLength
        case .malformed: self = .unknownMessageType
        case .staleTimestamp: self = .staleOrReplayedHandshake
        case .unknownPeer: self = .unknownPeerKey
        case .cookieRequired: self = .cookieRequired
        case .invalidMac: self = .invalidMac1
        case .sessionExpired: self = .expiredSession
        case .bufferTooSmall: self = .oversized
        case .cryptoFailure: self = .handshakeFailed
        }
    }

    init(_ reason: DirectoryDropReason) {
        switch reason {
        case .malformed: self = .unknownMessageType
        case .invalidMac: self = .invalidMac1
        case .rateLimited: self = .cookieRequired
        case .decryptFailed: self = .handshakeFailed
        case .unknownPeer: self = .unknownPeerKey
        case .unknownIndex: self = .unknownReceiverIndex
        }
    }
}

/// `PeerDirectory` on a `WireGuardResponderDirectory`: one WireGuard peer per authorized peer.
/// Peers can be added and removed while running; a removed peer's slot is reused by the next add.
public final class WireGuardPeerDirectory: PeerDirectory {
    let directory: WireGuardResponderDirectory
    public private(set) var peers: [AuthorizedPeer] = []
    private(set) var links: [WireGuardLink] = []
    private var present: [Bool] = []
    private var freeSlots: [PortID] = []
    private var idByKey: [PublicKey: PortID] = [:]

    public init(privateKey: PrivateKey, peers: [AuthorizedPeer]) {
        directory = WireGuardResponderDirectory(localPrivate: privateKey)
        for peer in peers { _ = add(peer) }
    }

    public var publicKeyDescription: String { directory.localPrivate.publicKey.base64 }
    public func link(for peer: PortID) -> SecureLink { links[Int(peer)] }
    public func isMember(_ id: PortID) -> Bool { Int(id) < present.count && present[Int(id)] }
    public func id(of key: PublicKey) -> PortID? { idByKey[key] }

    public func add(_ peer: AuthorizedPeer) -> PortID {
        if let existing = idByKey[peer.publicKey] { return existing }
        let link = WireGuardLink(peer: directory.addPeer(publicKey: peer.publicKey, presharedKey: peer.presharedKey,
                                                         wallClock: systemWallClock))
        let id: PortID
        if let slot = freeSlots.popLast() {
            id = slot
            peers[Int(id)] = peer
            links[Int(id)] = link
            present[Int(id)] = true
        } else {
            id = PortID(peers.count)
            peers.append(peer)
            links.append(link)
            present.append(true)
        }
        link.peer.tag = UInt32(id)
        idByKey[peer.publicKey] = id
        return id
    }

    public func relabel(_ id: PortID, as peer: AuthorizedPeer) {
        precondition(peers[Int(id)].publicKey == peer.publicKey && peers[Int(id)].presharedKey == peer.presharedKey)
        peers[Int(id)] = peer
    }

    public func remove(_ id: PortID) {
        guard isMember(id) else { return }
        let i = Int(id)
        links[i].peer.wipe()
        directory.removePeer(publicKey: peers[i].publicKey)
        idByKey[peers[i].publicKey] = nil
        present[i] = false
        freeSlots.append(id)
    }

    public func screenInitiation(_ datagram: UnsafeRawBufferPointer, sender: [UInt8], into out: UnsafeMutableRawBufferPointer,
                                 now: Nanoseconds) -> InitiationVerdict {
        switch directory.checkInitiation(datagram, source: sender, now: Timestamp(nanoseconds: now), into: out) {
        case .initiator(let key):
            guard let id = idByKey[key] else { return .drop(.unknownPeerKey) }
            links[Int(id)].source = sender
            return .peer(id)
        case .cookieReply(let n): return .reply(n)
        case .drop(let reason): return .drop(DatagramDropReason(reason))
        }
    }

    public func hasValidCookie(_ datagram: UnsafeRawBufferPointer, sender: [UInt8], now: Nanoseconds) -> Bool {
        directory.cookieChecker.checkMac2(datagram, source: sender, now: Timestamp(nanoseconds: now))
    }

    public func peer(owningIndex index: UInt32) -> PortID? {
        // The slot is the peer's tag; the identity check guards against a slot reused since.
        guard let peer = directory.indexAllocator.peer(forIndex: index) else { return nil }
        let id = PortID(peer.tag)
        guard Int(id) < links.count, present[Int(id)], links[Int(id)].peer === peer else { return nil }
        return id
    }

    public func setUnderLoad(_ underLoad: Bool) { directory.cookieChecker.isUnderLoad = underLoad }
}
