import Glibc
import LanyardCore
import LanyardWireGuard

/// What a port tags relay headers with (as LanyardNode's RelaySender): the key from its welcome
/// and a counter the switch has not seen yet.
struct RelayTagger {
    private let key: SipHash24
    private var counter: UInt64 = 0

    init(key: [UInt8]) { self.key = SipHash24(key: key) }

    /// Writes the header in front of the sealed datagram at `room[RelayHeader.length...]`,
    /// naming member `id` as the destination.
    mutating func wrap(_ room: UnsafeMutableRawBufferPointer, to id: UInt32) {
        counter &+= 1
        RelayHeader.write(into: room, memberID: id, counter: counter, key: key)
    }
}

/// A port's end-to-end session with its partner, as PortNode keeps one per member: made when the
/// switch introduces the partner (`member`), first through the switch's blind relay, direct once
/// a probe (`ping`) to the partner's address is answered (`pong`) from there.
final class DirectLink {
    let peer: WireGuardPeer
    /// The partner's id on the switch (relay headers name it).
    let partnerID: UInt32
    /// The partner's address as the switch sees it (the first candidate in `member`).
    let endpoint: sockaddr_in6
    /// Whether this side looked the partner up (it starts the handshake and repeats it).
    let initiates: Bool
    /// A pong from `endpoint` answered our probe: frames go there directly.
    var isDirect = false
    /// The other side's probe reached us directly and was answered (its path is direct too once
    /// the pong arrives; counted with a real port, whose side the generator does not see).
    var answeredProbe = false
    /// The probe in flight (0: none yet).
    var probe: UInt64 = 0
    /// When the handshake or probe was last (re)sent, and how often.
    var lastAttemptAt: Timestamp
    var attempts = 1

    init(peer: WireGuardPeer, partnerID: UInt32, endpoint: sockaddr_in6, initiates: Bool, now: Timestamp) {
        self.peer = peer
        self.partnerID = partnerID
        self.endpoint = endpoint
        self.initiates = initiates
        lastAttemptAt = now
    }

    /// `candidate` as a socket address (IPv6 only: the run has no IPv4).
    static func socketAddress(_ candidate: CandidateAddress) -> sockaddr_in6? {
        guard candidate.address.count == 16 else { return nil }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = candidate.port.bigEndian
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: candidate.address) }
        return address
    }

    /// Whether `a` is `endpoint` (address and port).
    func isEndpoint(_ a: sockaddr_in6) -> Bool { a.isSameEndpoint(as: endpoint) }
}

extension sockaddr_in6 {
    /// Whether `other` has the same address and port.
    func isSameEndpoint(as other: sockaddr_in6) -> Bool {
        sin6_port == other.sin6_port && withUnsafeBytes(of: sin6_addr) { x in
            withUnsafeBytes(of: other.sin6_addr) { x.elementsEqual($0) }
        }
    }
}
