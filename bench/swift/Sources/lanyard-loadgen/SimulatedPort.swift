import LanyardCore
import LanyardWireGuard

/// One simulated Lanyard port: a WireGuard initiator towards the switch, its own UDP socket
/// (the switch keys endpoints by address), its MAC address and what it has seen.
final class SimulatedPort {
    /// Where the port is in joining the switch.
    enum State { case idle, handshaking, awaitingWelcome, registered, failed }

    let index: Int
    let key: PrivateKey
    let peer: WireGuardPeer
    let socket: UDPEndpoint
    /// 02:00:00:xx:xx:xx, unique per port (locally administered, unicast).
    let mac: MACAddress
    var state = State.idle
    /// When the last initiation (or hello) was sent, for retransmission.
    var lastAttemptAt = Timestamp(nanoseconds: 0)
    var attempts = 0
    /// Unicast frames addressed to this port's MAC that arrived.
    var unicastReceived = 0
    /// Other frames that arrived (broadcasts, floods).
    var otherFramesReceived = 0

    init(index: Int, key: PrivateKey, switchKey: PublicKey, allocator: IndexAllocator,
         switchPort: UInt16) throws {
        self.index = index
        self.key = key
        peer = WireGuardPeer(localPrivate: key, peerPublic: switchKey, presharedKey: nil,
                             indexAllocator: allocator, wallClock: Clock.wall)
        // Each simulated port on its own loopback address (127.0.x.y), as real ports come from
        // many addresses: the switch limits handshakes per source address under load.
        let host = UInt32(0x7F00_0000) | UInt32((index / 250) & 0xFF) << 8 | UInt32(index % 250 + 2)
        socket = try UDPEndpoint(localHost: host, remotePort: switchPort, bufferBytes: 256 * 1024)
        mac = MACAddress(rawValue: 0x0200_0000_0000 | UInt64(index & 0xFF_FFFF))
    }

    /// Whether the port is waiting on the switch (a handshake or a welcome).
    var isJoining: Bool { state == .handshaking || state == .awaitingWelcome }
}
