/// What to do with a datagram arriving on an interface with many peers.
public enum DirectoryDecision {
    /// Hand the datagram to this peer's `decapsulate` (with the same source bytes).
    case deliver(to: WireGuardPeer)
    /// Send `out[0..<count]` back to the source (a cookie reply).
    case writeToNetwork(Int)
    /// Drop silently; nothing is sent.
    case drop(DirectoryDropReason)
}

/// Why the directory dropped a datagram.
public enum DirectoryDropReason: Equatable, Sendable {
    /// Not a well-formed WireGuard message.
    case malformed
    /// mac1 did not verify.
    case invalidMac
    /// Under load and over the per-source handshake rate.
    case rateLimited
    /// The initiation did not decrypt with our static key.
    case decryptFailed
    /// The initiator's static key is not a configured peer.
    case unknownPeer
    /// No peer owns the receiver index.
    case unknownIndex
}

/// What the directory learned from an initiation without committing any state.
public enum InitiationCheck: Equatable {
    /// Valid: the initiator's static public key.
    case initiator(PublicKey)
    /// A cookie reply was written to `out[0..<count]`; send it back.
    case cookieReply(Int)
    /// Drop silently.
    case drop(DirectoryDropReason)
}

/// Routes datagrams to peers for an interface with many peers (e.g. a switch with 1000 ports).
/// Initiations are checked cheaply (mac1, then mac2/rate limit under load) before any
/// Diffie-Hellman; the initiator's static key is then learned without committing state. Other
/// messages are routed by receiver index through the shared `IndexAllocator`.
/// Not thread-safe.
public final class WireGuardResponderDirectory {
    /// Our static key.
    public let localPrivate: PrivateKey
    /// The mac/cookie checker; set `cookieChecker.isUnderLoad` when under load.
    public let cookieChecker: CookieChecker
    /// The allocator every registered peer must use.
    public let indexAllocator: IndexAllocator
    /// Per-source limiter applied to initiations under load.
    public let rateLimiter: HandshakeRateLimiter
    private var peers: [PublicKey: WireGuardPeer] = [:]

    /// A directory for `localPrivate`.
    public init(localPrivate: PrivateKey, indexAllocator: IndexAllocator = IndexAllocator(),
                random: RandomSource = SystemRandomSource(), rateLimiter: HandshakeRateLimiter = HandshakeRateLimiter()) {
        self.localPrivate = localPrivate
        self.indexAllocator = indexAllocator
        self.rateLimiter = rateLimiter
        cookieChecker = CookieChecker(localPublic: localPrivate.publicKey, random: random)
    }

    /// Makes and registers a peer sharing this directory's allocator and cookie checker.
    public func addPeer(publicKey: PublicKey, presharedKey: PresharedKey?, persistentKeepalive: UInt16? = nil,
                        random: RandomSource = SystemRandomSource(),
                        wallClock: @escaping () -> WallClockTime) -> WireGuardPeer {
        let peer = WireGuardPeer(localPrivate: localPrivate, peerPublic: publicKey, presharedKey: presharedKey,
                                 indexAllocator: indexAllocator, persistentKeepalive: persistentKeepalive,
                                 cookieChecker: cookieChecker, random: random, wallClock: wallClock)
        peers[publicKey] = peer
        return peer
    }

    /// Forgets a peer (its indices are released when it is deallocated).
    public func removePeer(publicKey: PublicKey) { peers[publicKey] = nil }

    /// The registered peer with this static key.
    public func peer(for publicKey: PublicKey) -> WireGuardPeer? { peers[publicKey] }

    /// Checks an initiation: mac1; under load mac2 (else a cookie reply) and the rate limit;
    /// then decrypts the initiator's static key. Commits nothing.
    public func checkInitiation(_ datagram: UnsafeRawBufferPointer, source: [UInt8], now: Timestamp,
                                into out: UnsafeMutableRawBufferPointer) -> InitiationCheck {
        guard (try? MessageLayout.classify(datagram)) == .initiation else { return .drop(.malformed) }
        guard cookieChecker.checkMac1(datagram) else { return .drop(.invalidMac) }
        if cookieChecker.isUnderLoad {
            guard cookieChecker.checkMac2(datagram, source: source, now: now) else {
                guard let count = cookieChecker.writeCookieReply(to: datagram, source: source, now: now, into: out) else {
                    return .drop(.malformed)
                }
                return .cookieReply(count)
            }
            guard rateLimiter.allow(source: source, now: now) else { return .drop(.rateLimited) }
        }
        guard let message = try? HandshakeInitiation(parsing: datagram) else { return .drop(.decryptFailed) }
        // A stranger costs one Diffie-Hellman (its static key is refused before the second); a
        // known peer's static-static secret is cached, and the decoded initiation is handed to
        // the peer so that it is not decrypted twice.
        let known = peers
        let decoded: DecodedInitiation
        do {
            decoded = try NoiseHandshake.decodeInitiation(message, local: localPrivate, localPublic: cookieChecker.localPublic,
                                                          staticShared: { known[$0]?.staticShared })
        } catch .unknownInitiator {
            return .drop(.unknownPeer)
        } catch {
            return .drop(.decryptFailed)
        }
        known[decoded.initiatorStatic]?.predecoded = decoded
        return .initiator(decoded.initiatorStatic)
    }

    /// Decides where a datagram goes: initiations by the initiator's key, everything else by
    /// receiver index. An initiation from an unknown key is dropped with nothing to send.
    public func route(_ datagram: UnsafeRawBufferPointer, source: [UInt8], now: Timestamp,
                      into out: UnsafeMutableRawBufferPointer) -> DirectoryDecision {
        guard let (type, index) = try? wireGuardIndex(of: datagram) else { return .drop(.malformed) }
        if type == .initiation {
            switch checkInitiation(datagram, source: source, now: now, into: out) {
            case .initiator(let key):
                guard let peer = peers[key] else { return .drop(.unknownPeer) }
                return .deliver(to: peer)
            case .cookieReply(let count): return .writeToNetwork(count)
            case .drop(let reason): return .drop(reason)
            }
        }
        guard let peer = indexAllocator.peer(forIndex: index) else { return .drop(.unknownIndex) }
        return .deliver(to: peer)
    }
}
