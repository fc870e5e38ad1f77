import LanyardCore
import LanyardWireGuard

/// What a hub makes of an incoming handshake initiation before any per-peer state changes.
public enum InitiationVerdict: Equatable, Sendable {
    /// From this authorized peer: hand the datagram to its link.
    case peer(PortID)
    /// Under load: send `out`'s first n bytes (a cookie reply) back to the sender.
    case reply(Int)
    /// Refused (unknown key, bad mac1, ...): no answer at all.
    case drop(DatagramDropReason)
}

/// The protocol side of a hub with many peers (the switch, the VPN server): one link per
/// authorized peer, cheap screening of initiations, and which peer owns a receiver index.
public protocol PeerDirectory: AnyObject {
    /// The hub's own public key, for status output.
    var publicKeyDescription: String { get }
    /// The authorized peers; their ids are their positions. A removed peer keeps its slot
    /// (until `add` reuses it) and has `isMember(id) == false`.
    var peers: [AuthorizedPeer] { get }
    /// Whether slot `id` holds a current peer.
    func isMember(_ id: PortID) -> Bool
    /// Lets a new peer in (live); returns its id.
    func add(_ peer: AuthorizedPeer) -> PortID
    /// Removes a peer (live): its sessions end at once and its key is refused from now on.
    func remove(_ id: PortID)
    /// Replaces a current peer's entry by one with the same keys (a new name, pins or
    /// addresses): its sessions go on.
    func relabel(_ id: PortID, as peer: AuthorizedPeer)
    /// The id of the current peer with this key.
    func id(of key: PublicKey) -> PortID?
    /// The link to a peer.
    func link(for peer: PortID) -> SecureLink
    /// Screens a type-1 initiation from `sender` (address identity bytes).
    func screenInitiation(_ datagram: UnsafeRawBufferPointer, sender: [UInt8], into out: UnsafeMutableRawBufferPointer, now: Nanoseconds) -> InitiationVerdict
    /// Whether an initiation's mac2 is the cookie `sender` would be given now (two keyed
    /// BLAKE2s: no Diffie-Hellman, no reply).
    func hasValidCookie(_ datagram: UnsafeRawBufferPointer, sender: [UInt8], now: Nanoseconds) -> Bool
    /// The peer that owns receiver index `index` (from a type 2, 3 or 4 message).
    func peer(owningIndex index: UInt32) -> PortID?
    /// Tells the handshake layer whether the hub is under load (cookies demanded).
    func setUnderLoad(_ underLoad: Bool)
}

/// WireGuard message framing the nodes need for dispatch; the rest lives in LanyardWireGuard.
public enum WireMessage {
    public static let initiation: UInt8 = 1
    public static let response: UInt8 = 2
    public static let cookieReply: UInt8 = 3
    public static let transportData: UInt8 = 4
    public static let initiationLength = 148
    public static let responseLength = 92
    public static let cookieReplyLength = 64
    /// Header (16) + tag (16): the smallest transport message, a keepalive.
    public static let transportMinimumLength = 32

    /// The receiver index of a type 2, 3 or 4 message, little-endian: at offset 8 in a response
    /// (after the responder's own index), at offset 4 in a cookie reply or transport message.
    @inline(__always)
    public static func receiverIndex(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let at = bytes[0] == response ? 8 : 4
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    /// Where to decrypt a message: a data message in place (its body, after the 16-byte header,
    /// in the receive buffer that the node owns), anything else into `scratch`.
    @inline(__always)
    public static func output(for bytes: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer) -> UnsafeMutableRawBufferPointer {
        guard bytes[0] == transportData else { return scratch }
        return UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(rebasing: bytes[16...]))
    }

    /// Whether an initiation (already classified, 148 bytes) carries a mac2, i.e. a cookie.
    @inline(__always)
    public static func hasMac2(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var any: UInt8 = 0
        for i in (initiationLength - 16)..<initiationLength { any |= bytes[i] }
        return any != 0
    }

    /// Checks type and exact/min length; returns the type or the drop reason.
    public static func classify(_ bytes: UnsafeRawBufferPointer) -> Result<UInt8, DatagramDropReasonBox> {
        guard bytes.count >= 4 else { return .failure(.init(.tooShort)) }
        let type = bytes[0]
        guard bytes[1] == 0, bytes[2] == 0, bytes[3] == 0 else { return .failure(.init(.unknownMessageType)) }
        switch type {
        case initiation: return bytes.count == initiationLength ? .success(type) : .failure(.init(.wrongLength))
        case response: return bytes.count == responseLength ? .success(type) : .failure(.init(.wrongLength))
        case cookieReply: return bytes.count == cookieReplyLength ? .success(type) : .failure(.init(.wrongLength))
        case transportData:
            // Padding is to 16 bytes but capped at the sender's MTU, so any length above the minimum is valid.
            return bytes.count >= transportMinimumLength ? .success(type) : .failure(.init(.tooShort))
        default: return .failure(.init(.unknownMessageType))
        }
    }
}

/// A drop reason usable as a `Result` failure.
public struct DatagramDropReasonBox: Error { public let reason: DatagramDropReason; init(_ r: DatagramDropReason) { reason = r } }
