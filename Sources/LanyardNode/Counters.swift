import LanyardCore

/// Why a node refused a datagram before it reached the switching logic.
public enum DatagramDropReason: Int, Sendable, CaseIterable, CustomStringConvertible {
    case tooShort
    case oversized
    case unknownMessageType
    case wrongLength
    case unknownPeerKey
    case unknownReceiverIndex
    case cookieRequired
    case staleOrReplayedHandshake
    case handshakeFailed
    case invalidMac1
    case handshakeBudgetExhausted
    case decryptionFailed
    case replayed
    case expiredSession
    case unexpectedSender
    case lanyardMalformed
    case notAFrame
    case portNotRegistered
    case sourceNotAllowed
    case noRoute
    case clientToClientForbidden
    case notAnIPPacket
    case relayFromNonMember
    case forgedRelayHeader
    case replayedRelayCounter
    case relayToUnknownMember
    case relayOriginMismatch
    case relayNotOffered
    case macNotVouched
    case lookupRateLimited
    case peerHasNoEndpoint
    /// Delivered, but the sender's endpoint was not moved: the address is another live peer's.
    case addressHeldByOtherPeer

    public var description: String {
        switch self {
        case .tooShort: "too short"
        case .oversized: "oversized"
        case .unknownMessageType: "unknown message type"
        case .wrongLength: "wrong length for type"
        case .unknownPeerKey: "handshake from unknown key"
        case .unknownReceiverIndex: "unknown receiver index"
        case .cookieRequired: "cookie required (under load)"
        case .staleOrReplayedHandshake: "stale or replayed handshake"
        case .handshakeFailed: "handshake failed"
        case .invalidMac1: "invalid mac1"
        case .handshakeBudgetExhausted: "handshake without cookie over the load budget"
        case .decryptionFailed: "decryption failed"
        case .replayed: "replayed counter"
        case .expiredSession: "expired session"
        case .unexpectedSender: "unexpected sender"
        case .lanyardMalformed: "malformed Lanyard message"
        case .notAFrame: "unexpected inner message"
        case .portNotRegistered: "port not registered"
        case .sourceNotAllowed: "inner source address not allowed"
        case .noRoute: "no client for destination"
        case .clientToClientForbidden: "client to client forbidden"
        case .notAnIPPacket: "not an IP packet"
        case .relayFromNonMember: "relay from non-member"
        case .forgedRelayHeader: "forged relay header"
        case .replayedRelayCounter: "replayed relay counter"
        case .relayToUnknownMember: "relay to unknown member"
        case .relayOriginMismatch: "relay origin does not match session"
        case .relayNotOffered: "relay not offered (--relay-all)"
        case .macNotVouched: "MAC not vouched by the switch"
        case .lookupRateLimited: "lookup rate limited"
        case .peerHasNoEndpoint: "peer has no endpoint yet"
        case .addressHeldByOtherPeer: "endpoint not moved: address held by another live peer"
        }
    }
}

/// System calls made by a batched socket and the datagrams they moved (their ratio is the
/// average batch size).
public struct BatchCounters: Sendable, Codable, Equatable {
    public var receiveCalls: UInt64 = 0
    public var receivedDatagrams: UInt64 = 0
    public var sendCalls: UInt64 = 0
    public var sentDatagrams: UInt64 = 0
    /// Datagrams whose queued encryption failed (libcrypto out of memory; crypto threads only):
    /// sent as zeros, which the peer drops.
    public var failedSeals: UInt64 = 0
    /// Datagrams the kernel would not take (send queue full): dropped, as a full NIC queue drops.
    public var unsentDatagrams: UInt64 = 0
    /// Datagrams the kernel refused (destination unreachable, too large): dropped.
    public var refusedDatagrams: UInt64 = 0
    public init() {}
}

/// Traffic counters of one port or peer.
public struct TrafficCounters: Sendable, Codable, Equatable {
    public var rxPackets: UInt64 = 0
    public var rxBytes: UInt64 = 0
    public var txPackets: UInt64 = 0
    public var txBytes: UInt64 = 0

    public init() {}

    @inline(__always) mutating func received(_ bytes: Int) { rxPackets &+= 1; rxBytes &+= UInt64(bytes) }
    @inline(__always) mutating func sent(_ bytes: Int) { txPackets &+= 1; txBytes &+= UInt64(bytes) }
}
