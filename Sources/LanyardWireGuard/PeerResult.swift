/// What the caller must do after a `WireGuardPeer` call.
public enum PeerResult: Equatable, Sendable {
    /// Nothing to do.
    case done
    /// Send `out[0..<count]` to the peer's endpoint.
    case writeToNetwork(Int)
    /// Deliver `out[0..<count]` to the local tunnel. The count includes WireGuard's zero padding
    /// (a multiple of 16): trim it using the IP header's total length, or for non-IP payloads
    /// the payload's own length field.
    case writeToTunnel(Int)
    /// The message was refused (and counted in `WireGuardPeer.refusals`).
    case error(PeerError)
}

/// Why a `WireGuardPeer` refused a message or could not act.
public enum PeerError: Error, Equatable, Sendable {
    /// A transport counter already seen, too old for the window, or past REJECT_AFTER_MESSAGES.
    case replay
    /// An AEAD did not verify (wrong key, tampering, truncation inside the ciphertext).
    case decryptFailed
    /// The receiver index does not belong to a live session or pending handshake of this peer.
    case wrongIndex
    /// A known message type with a wrong length.
    case wrongLength
    /// Not a WireGuard message.
    case malformed
    /// An initiation whose TAI64N is not newer than the last accepted one (replay).
    case staleTimestamp
    /// An initiation from a static key other than this peer's.
    case unknownPeer
    /// Under load, an initiation without a valid mac2 and no source address to send a cookie to.
    case cookieRequired
    /// mac1 did not verify.
    case invalidMac
    /// The session the message belongs to is older than REJECT_AFTER_TIME.
    case sessionExpired
    /// The output buffer is too small for the message.
    case bufferTooSmall
    /// Internal crypto failure (libcrypto refused to create a context).
    case cryptoFailure
}

/// Counts of refused messages by reason, for status output.
public struct RefusalCounters: Equatable, Sendable {
    public var replay: UInt64 = 0
    public var decryptFailed: UInt64 = 0
    public var wrongIndex: UInt64 = 0
    public var wrongLength: UInt64 = 0
    public var malformed: UInt64 = 0
    public var staleTimestamp: UInt64 = 0
    public var unknownPeer: UInt64 = 0
    public var cookieRequired: UInt64 = 0
    public var invalidMac: UInt64 = 0
    public var sessionExpired: UInt64 = 0
    /// Packets dropped because the pre-handshake queue was full or the handshake gave up.
    public var queueDropped: UInt64 = 0

    mutating func count(_ error: PeerError) {
        switch error {
        case .replay: replay += 1
        case .decryptFailed: decryptFailed += 1
        case .wrongIndex: wrongIndex += 1
        case .wrongLength: wrongLength += 1
        case .malformed: malformed += 1
        case .staleTimestamp: staleTimestamp += 1
        case .unknownPeer: unknownPeer += 1
        case .cookieRequired: cookieRequired += 1
        case .invalidMac: invalidMac += 1
        case .sessionExpired: sessionExpired += 1
        case .bufferTooSmall, .cryptoFailure: break
        }
    }
}

/// Traffic and handshake statistics of a peer.
public struct PeerStats: Equatable, Sendable {
    /// Monotonic time of the last completed handshake.
    public var lastHandshake: Timestamp?
    /// Bytes of datagrams sent (all message types).
    public var txBytes: UInt64 = 0
    /// Bytes of authenticated datagrams received.
    public var rxBytes: UInt64 = 0
    /// Handshake initiations sent, retransmissions included.
    public var initiationsSent: UInt64 = 0
}
