import LanyardCore
import LanyardLinux
import LanyardWireGuard

/// A port's side of the relay: tags each datagram it sends through the switch with its relay key
/// and a fresh counter (RelayHeader). One per port; the key comes in the switch's `welcome`.
public final class RelaySender {
    let key: SipHash24
    private var counter: UInt64 = 0

    public init(key: [UInt8]) { self.key = SipHash24(key: key) }

    /// Writes the header in front of the sealed datagram at `room[24...]`.
    @inline(__always)
    func wrap(_ room: UnsafeMutableRawBufferPointer, member: UInt32) {
        counter &+= 1
        RelayHeader.write(into: room, memberID: member, counter: counter, key: key)
    }
}

/// Where a datagram for one peer goes through the relay: the switch's id of the destination.
struct RelayWrap {
    let sender: RelaySender
    let member: UInt32
}

/// The switch's side of the relay for one member: its current relay key and the window of
/// counters it has used. Checking costs one SipHash of 32 bytes and a window update: no AEAD.
struct RelayGate {
    let key: SipHash24
    let rawKey: [UInt8]
    var window = ReplayWindow(limit: .max)

    /// A fresh random key (a new one at each registration, so old captures are worthless).
    init() {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        rawKey = bytes
        key = SipHash24(key: bytes)
    }

    enum Verdict { case accept, forged, replayed }

    /// Verifies the tag, then the counter; records the counter only for an authentic datagram.
    mutating func check(_ datagram: UnsafeRawBufferPointer) -> Verdict {
        let counter = RelayHeader.counter(datagram)
        guard window.mightAccept(counter) else { return .replayed }
        guard RelayHeader.verify(datagram, key: key) else { return .forged }
        return window.accept(counter) ? .accept : .replayed
    }
}
