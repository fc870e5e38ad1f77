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
    /// The bits of the header's counter that count (between switches the top 24 carry the origin).
    let counterMask: UInt64

    /// A fresh random key (a new one at each registration, so old captures are worthless).
    init() { self.init(rawKey: Self.randomKey()) }

    /// A key another switch chose for the datagrams it relays to us.
    init(rawKey: [UInt8], counterMask: UInt64 = .max) {
        self.rawKey = rawKey
        key = SipHash24(key: rawKey)
        self.counterMask = counterMask
    }

    static func randomKey() -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    enum Verdict { case accept, forged, replayed }

    /// Verifies the tag, then the counter; records the counter only for an authentic datagram.
    mutating func check(_ datagram: UnsafeRawBufferPointer) -> Verdict {
        let counter = RelayHeader.counter(datagram) & counterMask
        guard window.mightAccept(counter) else { return .replayed }
        guard RelayHeader.verify(datagram, key: key) else { return .forged }
        return window.accept(counter) ? .accept : .replayed
    }
}
