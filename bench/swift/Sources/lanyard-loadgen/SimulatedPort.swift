import LanyardCore
import LanyardWireGuard

/// One simulated Lanyard port: a WireGuard initiator towards the switch, sending from its own
/// address (`AddressPlan`) on a socket it shares with other ports, its MAC address and what it
/// has seen. Port 2k and 2k+1 are partners in the frame phase.
final class SimulatedPort {
    /// Where the port is in joining the switch.
    enum State { case idle, handshaking, awaitingWelcome, registered, failed }

    let index: Int
    let key: PrivateKey
    /// Its session with the switch; replaced by a fresh one when the port restarts (churn).
    private(set) var peer: WireGuardPeer
    /// The shared socket it sends from.
    let socket: Int32
    /// 02:00:00:xx:xx:xx, unique per port (locally administered, unicast).
    let mac: MACAddress
    var state = State.idle
    /// When the last initiation (or hello) was sent, for retransmission.
    var lastAttemptAt = Timestamp(nanoseconds: 0)
    var attempts = 0
    /// When the port last sent anything, for keepalives.
    var lastSentAt = Timestamp(nanoseconds: 0)

    // Frame phase.
    /// Whether it sends frames to its partner now (off while either of them is away).
    var isSending = false
    /// Unicast frames addressed to it since it (re)joined, and how many of them arrived.
    var framesAddressed = 0
    var framesReceived = 0
    /// Whether it left and rejoined during the frame phase.
    var hasChurned = false
    /// When its rejoin's handshake started (nil when not rejoining).
    var rejoinStartedAt: Timestamp?

    // Directory scenario.
    /// Its member id and relay key, from the welcome (when the switch offers direct paths).
    var memberID: UInt32?
    var relay: RelayTagger?
    /// Its lookup of the partner: when last sent, and how often.
    var lookupSentAt: Timestamp?
    var lookupAttempts = 0
    /// Its end-to-end session with the partner, once the switch introduced them.
    var link: DirectLink?
    /// Gave up on reaching its partner directly.
    var directoryFailed = false

    /// Whether it is (or was) on its way to a direct path with its partner.
    var isMeetingPartner: Bool { lookupSentAt != nil || link != nil }

    init(index: Int, key: PrivateKey, switchKey: PublicKey, allocator: IndexAllocator, socket: Int32) {
        self.index = index
        self.key = key
        self.socket = socket
        peer = Self.makePeer(key: key, switchKey: switchKey, allocator: allocator)
        mac = MACAddress(rawValue: 0x0200_0000_0000 | UInt64(index & 0xFF_FFFF))
    }

    /// The partner's index (2k ↔ 2k+1).
    var partner: Int { index ^ 1 }

    /// Whether the port is waiting on the switch (a handshake or a welcome).
    var isJoining: Bool { state == .handshaking || state == .awaitingWelcome }

    /// Forgets its session as a restarted port would: a new peer, nothing sent yet.
    func restart(switchKey: PublicKey, allocator: IndexAllocator) {
        peer = Self.makePeer(key: key, switchKey: switchKey, allocator: allocator)
        state = .idle
        framesAddressed = 0
        framesReceived = 0
    }

    private static func makePeer(key: PrivateKey, switchKey: PublicKey, allocator: IndexAllocator) -> WireGuardPeer {
        WireGuardPeer(localPrivate: key, peerPublic: switchKey, presharedKey: nil, indexAllocator: allocator, wallClock: Clock.wall)
    }
}
