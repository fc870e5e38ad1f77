/// One WireGuard peer as a pure state machine: handshake, sessions, transport and timers.
/// No I/O and no clock: the caller passes datagrams, output buffers and the time.
///
/// Not thread-safe: confine each peer (and the `IndexAllocator`/`CookieChecker` it shares)
/// to one thread. The endpoint address is the caller's business.
public final class WireGuardPeer {
    /// The peer's static public key.
    public let peerPublic: PublicKey
    /// Our static public key.
    public let localPublic: PublicKey
    /// Interval of persistent keepalives, if configured (may change while running).
    public var persistentKeepalive: Timestamp.Duration?
    /// Checks macs of initiations we receive and makes cookie replies (shared with a directory).
    public let cookieChecker: CookieChecker
    /// Refused messages by reason.
    public internal(set) var refusals = RefusalCounters()
    /// Traffic statistics.
    public internal(set) var stats = PeerStats()
    /// Most packets held while waiting for a handshake; older ones are dropped first.
    public static let maxQueuedPackets = 16

    let localPrivate: PrivateKey
    /// The preshared key; a change applies from the next handshake.
    public var psk: PresharedKey
    let allocator: IndexAllocator
    /// Every index `allocator` gave this peer and has not taken back (see `IndexAllocator`).
    var ownedIndices: [UInt32] = []
    /// The owner's number for this peer (a `PeerDirectory` slot), read back from an index lookup
    /// without a second table.
    public var tag: UInt32 = 0
    let random: RandomSource
    let wallClock: () -> WallClockTime
    var stamper: CookieStamper
    /// DH(our static, their static): fixed for the life of the peer, computed once on first use.
    lazy var staticShared: [UInt8]? = localPrivate.sharedSecret(with: peerPublic)
    /// An initiation the directory already decrypted while screening it (same datagram), so the
    /// peer does not decrypt it a second time.
    var predecoded: DecodedInitiation?

    // Handshake we initiated and wait a response for.
    var pending: InitiatorState?
    var handshakeStartedAt: Timestamp?
    var lastInitiationSentAt: Timestamp?
    var retransmitDelay = WireGuardTimers.rekeyTimeout
    var lastAcceptedTimestamp: TAI64N?
    var rekeyRequested = false

    // Sessions: `next` is a responder's keypair not yet confirmed by the initiator.
    var current: Keypair?
    var previous: Keypair?
    var next: Keypair?
    var lastSessionDerivedAt: Timestamp?

    // Timer inputs.
    var lastSentAt: Timestamp?
    var keepaliveDueFrom: Timestamp?
    var unansweredDataSince: Timestamp?
    var lastDataSentAt: Timestamp?
    var queue: [[UInt8]] = []

    /// Creates a peer.
    /// - Parameters:
    ///   - localPrivate: our static private key.
    ///   - peerPublic: the peer's static public key.
    ///   - presharedKey: optional pre-shared key (all zeros when nil, as WireGuard does).
    ///   - indexAllocator: source of local indices; share one between all peers of an interface.
    ///   - persistentKeepalive: seconds between persistent keepalives, nil or 0 for none.
    ///   - cookieChecker: shared checker for our static key; one is made if nil.
    ///   - random: randomness for ephemeral keys and jitter (inject a fixed one in tests).
    ///   - wallClock: wall-clock reader for TAI64N timestamps of initiations.
    public init(localPrivate: PrivateKey, peerPublic: PublicKey, presharedKey: PresharedKey?,
                indexAllocator: IndexAllocator, persistentKeepalive: UInt16? = nil,
                cookieChecker: CookieChecker? = nil, random: RandomSource = SystemRandomSource(),
                wallClock: @escaping () -> WallClockTime) {
        self.localPrivate = localPrivate
        // A directory's shared checker already knows our public key: no fixed-base multiplication per peer.
        self.localPublic = cookieChecker?.localPublic ?? localPrivate.publicKey
        self.peerPublic = peerPublic
        self.psk = presharedKey ?? .zero
        self.allocator = indexAllocator
        self.random = random
        self.wallClock = wallClock
        if let seconds = persistentKeepalive, seconds > 0 {
            self.persistentKeepalive = .seconds(UInt64(seconds))
        } else {
            self.persistentKeepalive = nil
        }
        self.cookieChecker = cookieChecker ?? CookieChecker(localPublic: localPublic, random: random)
        stamper = CookieStamper(peer: peerPublic)
    }

    deinit { allocator.releaseAll(of: self) }

    /// Whether a confirmed session usable for sending exists.
    public func isSessionEstablished(now: Timestamp) -> Bool {
        guard let current else { return false }
        return !current.isExpired(now: now) && current.sendCounter < WireGuardTimers.rejectAfterMessages
    }

    /// Whether any key material (sessions or a pending handshake) is held.
    public var hasKeyMaterial: Bool { current != nil || previous != nil || next != nil || pending != nil }

    /// Whether a handshake we initiated is waiting for its response.
    public var isHandshakeInProgress: Bool { pending != nil }

    /// Whether packets wait to be sent; call `dequeue(into:now:)` while it is true and a session is up.
    public var hasQueuedPackets: Bool { !queue.isEmpty }

    /// Local indices currently owned by this peer (for the caller's routing tables).
    public var localIndices: [UInt32] {
        [pending?.localIndex, current?.localIndex, previous?.localIndex, next?.localIndex].compactMap { $0 }
    }

    func fail(_ error: PeerError) -> PeerResult {
        refusals.count(error)
        return .error(error)
    }

    /// Ends every session and pending handshake at once (the peer was removed or went idle);
    /// its indices are released and its keys zeroed.
    public func wipe() { clearAllKeys() }

    /// Erases every session and handshake state (keys are zeroed as keypairs deinit).
    func clearAllKeys() {
        for keypair in [current, previous, next] { if let keypair { allocator.release(keypair.localIndex) } }
        if let pending { allocator.release(pending.localIndex) }
        current = nil; previous = nil; next = nil; pending = nil
        handshakeStartedAt = nil; lastInitiationSentAt = nil
        lastSessionDerivedAt = nil; rekeyRequested = false
        keepaliveDueFrom = nil; unansweredDataSince = nil
        refusals.queueDropped += UInt64(queue.count)
        queue.removeAll()
    }

    /// Installs a new keypair. Initiator: becomes current at once. Responder: becomes `next`
    /// until the initiator's first transport message confirms it.
    func install(_ keypair: Keypair, now: Timestamp) {
        if keypair.isInitiator {
            // Both sides may have initiated at once: our unconfirmed responder keypair (`next`)
            // is what the peer sends on, so keep it receivable as `previous` (as wireguard-go does).
            if let previous { allocator.release(previous.localIndex) }
            if let unconfirmed = next {
                if let current { allocator.release(current.localIndex) }
                previous = unconfirmed
            } else {
                previous = current
            }
            next = nil
            current = keypair
        } else {
            if let next { allocator.release(next.localIndex) }
            next = keypair
        }
        lastSessionDerivedAt = now
        stats.lastHandshake = now
    }

    /// Promotes a confirmed `next` keypair to current.
    func promoteNext() {
        guard let confirmed = next else { return }
        if let previous { allocator.release(previous.localIndex) }
        previous = current
        current = confirmed
        next = nil
    }
}
