/// Why a handshake message was refused.
public enum HandshakeError: Error, Equatable, Sendable {
    /// An AEAD did not verify (wrong keys, tampering, or not meant for us).
    case decryptFailed
    /// A Diffie-Hellman result was all zeros (low-order point).
    case invalidPublicKey
    /// The initiation is from a static key the responder does not know (refused before the
    /// static-static Diffie-Hellman is spent on it).
    case unknownInitiator
}

/// Keys of a completed handshake, before they become a `Keypair`.
final class SessionKeys {
    private(set) var sending: [UInt8]
    private(set) var receiving: [UInt8]

    init(sending: [UInt8], receiving: [UInt8]) {
        self.sending = sending
        self.receiving = receiving
    }

    /// The keys are wiped as soon as the keypair made from them holds its own copies (in C).
    deinit {
        sending.zeroize()
        receiving.zeroize()
    }
}

/// The initiator's state between sending an initiation and receiving the response.
final class InitiatorState {
    let localIndex: UInt32
    private(set) var ephemeral: PrivateKey
    private(set) var chainingKey: [UInt8]
    private(set) var hash: [UInt8]

    init(localIndex: UInt32, ephemeral: PrivateKey, chainingKey: [UInt8], hash: [UInt8]) {
        self.localIndex = localIndex
        self.ephemeral = ephemeral
        self.chainingKey = chainingKey
        self.hash = hash
    }

    /// The handshake's secrets are zeroed when it ends (answered, abandoned or replaced): a class
    /// so that the state is never copied and the last release wipes the one copy.
    deinit {
        ephemeral.wipe()
        chainingKey.zeroize()
        hash.zeroize()
    }
}

extension Array where Element == UInt8 {
    /// Overwrites the bytes with zeros in place (a secret no longer needed).
    mutating func zeroize() {
        withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
    }
}

/// What a responder learns from a valid initiation, before committing anything.
public struct DecodedInitiation: Sendable {
    /// The initiator's static public key.
    public let initiatorStatic: PublicKey
    /// The initiator's TAI64N label (checked against replay by the peer).
    public let timestamp: TAI64N
    /// The initiator's sender index.
    public let senderIndex: UInt32
    let ephemeral: PublicKey
    let chainingKey: [UInt8]
    let hash: [UInt8]
}

/// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s exactly as in the WireGuard whitepaper §5.4.2–§5.4.5.
/// Pure computation: callers supply ephemeral keys, indices and timestamps.
enum NoiseHandshake {
    typealias H = WireGuardHash

    /// Builds an initiation from `local` to `remote` (macs left zero).
    /// `localPublic` and `staticShared` (DH(local, remote)) are the caller's cached values: they
    /// never change for a peer, so they are not recomputed per handshake.
    static func createInitiation(local: PrivateKey, localPublic: PublicKey, remote: PublicKey, staticShared: [UInt8],
                                 ephemeral: PrivateKey, localIndex: UInt32,
                                 timestamp: TAI64N) throws(HandshakeError) -> (HandshakeInitiation, InitiatorState) {
        var c = NoiseConstants.initialChainingKey
        var h = H.hash(NoiseConstants.initialHash, remote.rawValue)
        let ePub = ephemeral.publicKey.rawValue
        c = H.kdf1(key: c, input: ePub)
        h = H.hash(h, ePub)
        guard let es = ephemeral.sharedSecret(with: remote) else { throw .invalidPublicKey }
        var (c1, k) = H.kdf2(key: c, input: es)
        c = c1
        let encryptedStatic = try seal(k, localPublic.rawValue, h)
        h = H.hash(h, encryptedStatic)
        (c1, k) = H.kdf2(key: c, input: staticShared)
        c = c1
        let encryptedTimestamp = try seal(k, timestamp.bytes, h)
        h = H.hash(h, encryptedTimestamp)
        let message = HandshakeInitiation(senderIndex: localIndex, ephemeral: ePub,
                                          encryptedStatic: encryptedStatic, encryptedTimestamp: encryptedTimestamp)
        return (message, InitiatorState(localIndex: localIndex, ephemeral: ephemeral, chainingKey: c, hash: h))
    }

    /// Decrypts an initiation sent to `local`; commits nothing. `staticShared` gives the cached
    /// DH(local, initiator) for a known initiator, nil for a stranger: a stranger costs one
    /// Diffie-Hellman (the ephemeral one), not two.
    static func decodeInitiation(_ m: HandshakeInitiation, local: PrivateKey, localPublic: PublicKey,
                                 staticShared: (PublicKey) -> [UInt8]?) throws(HandshakeError) -> DecodedInitiation {
        var c = NoiseConstants.initialChainingKey
        var h = H.hash(NoiseConstants.initialHash, localPublic.rawValue)
        guard let ePub = try? PublicKey(rawValue: m.ephemeral) else { throw .invalidPublicKey }
        c = H.kdf1(key: c, input: m.ephemeral)
        h = H.hash(h, m.ephemeral)
        guard let es = local.sharedSecret(with: ePub) else { throw .invalidPublicKey }
        var (c1, k) = H.kdf2(key: c, input: es)
        c = c1
        let staticBytes = try open(k, m.encryptedStatic, h)
        h = H.hash(h, m.encryptedStatic)
        guard let initiator = try? PublicKey(rawValue: staticBytes) else { throw .invalidPublicKey }
        guard let ss = staticShared(initiator) else { throw .unknownInitiator }
        (c1, k) = H.kdf2(key: c, input: ss)
        c = c1
        let stamp = try open(k, m.encryptedTimestamp, h)
        h = H.hash(h, m.encryptedTimestamp)
        guard let timestamp = TAI64N(bytes: stamp) else { throw .decryptFailed }
        return DecodedInitiation(initiatorStatic: initiator, timestamp: timestamp, senderIndex: m.senderIndex,
                                 ephemeral: ePub, chainingKey: c, hash: h)
    }

    /// Builds the response to a decoded initiation (macs left zero) and derives the responder's keys.
    static func createResponse(to i: DecodedInitiation, ephemeral: PrivateKey, localIndex: UInt32,
                               psk: PresharedKey) throws(HandshakeError) -> (HandshakeResponse, SessionKeys) {
        var c = i.chainingKey
        var h = i.hash
        let ePub = ephemeral.publicKey.rawValue
        c = H.kdf1(key: c, input: ePub)
        h = H.hash(h, ePub)
        guard var ee = ephemeral.sharedSecret(with: i.ephemeral),
              var se = ephemeral.sharedSecret(with: i.initiatorStatic) else { throw .invalidPublicKey }
        defer { ee.zeroize(); se.zeroize(); c.zeroize() }
        c = H.kdf1(key: c, input: ee)
        c = H.kdf1(key: c, input: se)
        let (c3, tau, k) = H.kdf3(key: c, input: psk.rawValue)
        c = c3
        h = H.hash(h, tau)
        let empty = try seal(k, [], h)
        h = H.hash(h, empty)
        let (recv, send) = H.kdf2(key: c, input: [])
        let message = HandshakeResponse(senderIndex: localIndex, receiverIndex: i.senderIndex,
                                        ephemeral: ePub, encryptedNothing: empty)
        return (message, SessionKeys(sending: send, receiving: recv))
    }

    /// Consumes a response to our initiation and derives the initiator's keys.
    static func consumeResponse(_ m: HandshakeResponse, state s: InitiatorState, local: PrivateKey,
                                psk: PresharedKey) throws(HandshakeError) -> SessionKeys {
        var c = s.chainingKey
        var h = s.hash
        guard let rEph = try? PublicKey(rawValue: m.ephemeral) else { throw .invalidPublicKey }
        c = H.kdf1(key: c, input: m.ephemeral)
        h = H.hash(h, m.ephemeral)
        guard var ee = s.ephemeral.sharedSecret(with: rEph),
              var se = local.sharedSecret(with: rEph) else { throw .invalidPublicKey }
        defer { ee.zeroize(); se.zeroize(); c.zeroize() }
        c = H.kdf1(key: c, input: ee)
        c = H.kdf1(key: c, input: se)
        let (c3, tau, k) = H.kdf3(key: c, input: psk.rawValue)
        c = c3
        h = H.hash(h, tau)
        _ = try open(k, m.encryptedNothing, h)
        let (send, recv) = H.kdf2(key: c, input: [])
        return SessionKeys(sending: send, receiving: recv)
    }

    private static func seal(_ key: [UInt8], _ plaintext: [UInt8], _ aad: [UInt8]) throws(HandshakeError) -> [UInt8] {
        do { return try HandshakeAEAD.seal(key: key, plaintext: plaintext, aad: aad) } catch { throw .decryptFailed }
    }

    private static func open(_ key: [UInt8], _ sealed: [UInt8], _ aad: [UInt8]) throws(HandshakeError) -> [UInt8] {
        do { return try HandshakeAEAD.open(key: key, sealed: sealed, aad: aad) } catch { throw .decryptFailed }
    }
}
