/// The protocol's constants (whitepaper §6.1 and the Noise names of §5.4).
public enum WireGuardTimers {
    /// After this many messages a new handshake is started (2^60).
    public static let rekeyAfterMessages: UInt64 = 1 << 60
    /// No message is sent or accepted with a counter at or past this (2^64 − 2^13 − 1).
    public static let rejectAfterMessages: UInt64 = UInt64.max - (1 << 13)
    /// The initiator starts a new handshake when its session is this old (120 s).
    public static let rekeyAfterTime = Timestamp.Duration.seconds(120)
    /// A session this old is neither used nor accepted (180 s).
    public static let rejectAfterTime = Timestamp.Duration.seconds(180)
    /// Retransmitting a handshake stops after this (90 s).
    public static let rekeyAttemptTime = Timestamp.Duration.seconds(90)
    /// A handshake is retransmitted after this without a response (5 s, plus jitter).
    public static let rekeyTimeout = Timestamp.Duration.seconds(5)
    /// Upper bound of the random jitter added to `rekeyTimeout` (333 ms).
    public static let rekeyTimeoutJitterMax = Timestamp.Duration.milliseconds(333)
    /// Passive keepalive: sent when data arrived and nothing went out for this long (10 s).
    public static let keepaliveTimeout = Timestamp.Duration.seconds(10)
    /// The cookie secret rotates, and a received cookie expires, after this (120 s).
    public static let cookieRefreshTime = Timestamp.Duration.seconds(120)
    /// All key material is erased after this long with no new session (3 × 180 s).
    public static let zeroKeysAfter = rejectAfterTime * 3
}

/// Noise protocol names and labels.
enum NoiseConstants {
    static let construction = Array("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".utf8)
    static let identifier = Array("WireGuard v1 zx2c4 Jason@zx2c4.com".utf8)
    static let labelMac1 = Array("mac1----".utf8)
    static let labelCookie = Array("cookie--".utf8)
    /// C = HASH(construction).
    static let initialChainingKey = WireGuardHash.hash(construction)
    /// H = HASH(C || identifier).
    static let initialHash = WireGuardHash.hash(initialChainingKey, identifier)
}
