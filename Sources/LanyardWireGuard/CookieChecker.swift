/// The responder side of WireGuard's DoS mitigation (whitepaper §5.3, §5.4.7): checks mac1 and
/// mac2 of incoming handshake messages and makes type-3 cookie replies. One checker per local
/// static key; share it between a `WireGuardResponderDirectory` and its peers.
/// Not thread-safe: confine to the thread that owns the peers.
public final class CookieChecker {
    /// The local static public key the macs are bound to.
    public let localPublic: PublicKey
    /// Set by the caller when it is under load: initiations then need a valid mac2.
    public var isUnderLoad = false

    let mac1Key: [UInt8]
    let cookieKey: [UInt8]
    private let random: RandomSource
    private var secret: [UInt8]
    private var secretCreatedAt: Timestamp?

    /// A checker for `localPublic`, drawing its rotating secret and reply nonces from `random`.
    public init(localPublic: PublicKey, random: RandomSource = SystemRandomSource()) {
        self.localPublic = localPublic
        self.random = random
        mac1Key = WireGuardHash.hash(NoiseConstants.labelMac1, localPublic.rawValue)
        cookieKey = WireGuardHash.hash(NoiseConstants.labelCookie, localPublic.rawValue)
        secret = random.bytes(32)
    }

    deinit { for i in secret.indices { secret[i] = 0 } }

    /// Whether mac1 of a type-1 or type-2 `message` (already length-checked) is valid for us.
    public func checkMac1(_ message: UnsafeRawBufferPointer) -> Bool {
        guard let offset = Self.mac1Offset(message) else { return false }
        let expected = WireGuardHash.mac(key: mac1Key, bytes: UnsafeRawBufferPointer(rebasing: message[0..<offset]))
        return constantTimeEqual(expected, Array(message[offset..<offset + 16]))
    }

    /// Whether mac2 of `message` matches the cookie we would give `source` now.
    public func checkMac2(_ message: UnsafeRawBufferPointer, source: [UInt8], now: Timestamp) -> Bool {
        guard let offset = Self.mac1Offset(message) else { return false }
        let mac2Offset = offset + 16
        let cookie = currentCookie(for: source, now: now)
        let expected = WireGuardHash.mac(key: cookie, bytes: UnsafeRawBufferPointer(rebasing: message[0..<mac2Offset]))
        return constantTimeEqual(expected, Array(message[mac2Offset..<mac2Offset + 16]))
    }

    /// Writes a 64-byte cookie reply to `message` (type 1 or 2) for `source` into `out`.
    /// Returns the byte count, or nil if `out` is too small or `message` is not a handshake.
    public func writeCookieReply(to message: UnsafeRawBufferPointer, source: [UInt8], now: Timestamp,
                                 into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard out.count >= MessageLayout.cookieReplySize, let offset = Self.mac1Offset(message) else { return nil }
        let senderIndex = MessageLayout.readLE32(message, 4)
        let mac1 = Array(message[offset..<offset + 16])
        let nonce = random.bytes(MessageLayout.cookieNonceSize)
        let cookie = currentCookie(for: source, now: now)
        guard let sealed = try? XChaCha20Poly1305.seal(key: cookieKey, nonce: nonce, plaintext: cookie, aad: mac1) else { return nil }
        CookieReply(receiverIndex: senderIndex, nonce: nonce, encryptedCookie: sealed).bytes.write(to: out)
        return MessageLayout.cookieReplySize
    }

    /// τ = MAC(R_m, A_m'), with R_m renewed every two minutes.
    private func currentCookie(for source: [UInt8], now: Timestamp) -> [UInt8] {
        if let created = secretCreatedAt, now.since(created) < WireGuardTimers.cookieRefreshTime {
            // still fresh
        } else {
            if secretCreatedAt != nil { secret = random.bytes(32) }
            secretCreatedAt = now
        }
        return WireGuardHash.mac(key: secret, source)
    }

    static func mac1Offset(_ message: UnsafeRawBufferPointer) -> Int? {
        switch message.count {
        case MessageLayout.initiationSize where message[0] == 1: return MessageLayout.initiationMac1Offset
        case MessageLayout.responseSize where message[0] == 2: return MessageLayout.responseMac1Offset
        default: return nil
        }
    }
}

/// The sending side of mac1/mac2 for messages to one peer, plus the cookie received from it.
struct CookieStamper {
    private let mac1Key: [UInt8]
    private let cookieKey: [UInt8]
    private var cookie: [UInt8]?
    private var cookieReceivedAt = Timestamp(nanoseconds: 0)
    private var lastMac1: [UInt8]?

    /// For messages sent to `peer`.
    init(peer: PublicKey) {
        mac1Key = WireGuardHash.hash(NoiseConstants.labelMac1, peer.rawValue)
        cookieKey = WireGuardHash.hash(NoiseConstants.labelCookie, peer.rawValue)
    }

    /// Whether a cookie is held and still usable for mac2.
    func hasCookie(now: Timestamp) -> Bool {
        cookie != nil && now.since(cookieReceivedAt) < WireGuardTimers.cookieRefreshTime
    }

    /// Fills mac1 and mac2 (zeros without a fresh cookie) of a type-1 or type-2 message.
    mutating func stamp(_ message: inout [UInt8], now: Timestamp) {
        let mac1Offset = message.count == MessageLayout.initiationSize
            ? MessageLayout.initiationMac1Offset : MessageLayout.responseMac1Offset
        let mac1 = WireGuardHash.mac(key: mac1Key, Array(message[0..<mac1Offset]))
        message.replaceSubrange(mac1Offset..<mac1Offset + 16, with: mac1)
        lastMac1 = mac1
        var mac2 = [UInt8](repeating: 0, count: 16)
        if let cookie, hasCookie(now: now) {
            mac2 = WireGuardHash.mac(key: cookie, Array(message[0..<mac1Offset + 16]))
        }
        message.replaceSubrange(mac1Offset + 16..<mac1Offset + 32, with: mac2)
    }

    /// Decrypts a cookie reply to the last message we stamped; false if it does not verify.
    mutating func consume(_ reply: CookieReply, now: Timestamp) -> Bool {
        guard let lastMac1,
              let cookie = try? XChaCha20Poly1305.open(key: cookieKey, nonce: reply.nonce, sealed: reply.encryptedCookie, aad: lastMac1)
        else { return false }
        self.cookie = cookie
        cookieReceivedAt = now
        self.lastMac1 = nil
        return true
    }
}
