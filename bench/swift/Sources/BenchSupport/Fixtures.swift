import LanyardCore
import LanyardWireGuard

/// A wall clock that moves one second per reading, so every initiation carries a TAI64N
/// strictly newer than the last (the responder refuses stale ones, and TAI64N drops sub-2^24 ns).
public final class SteppingWallClock {
    private var seconds: Int64 = 1_700_000_000

    /// The next reading.
    public init() {}

    public func next() -> WallClockTime {
        seconds += 1
        return WallClockTime(seconds: seconds, nanoseconds: 0)
    }
}

/// Errors setting up a fixture; benchmarks report them instead of crashing.
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
}

/// An initiator and a responder `WireGuardPeer` with a confirmed session both ways, plus scratch
/// buffers large enough for any message of `maxPlaintext` bytes.
public final class PeerPair {
    public let initiator: WireGuardPeer
    public let responder: WireGuardPeer
    public let clock = SteppingWallClock()
    /// Monotonic time fed to both peers; callers advance it as they like.
    public var now = Timestamp(nanoseconds: 1_000_000_000)
    public let wire: UnsafeMutableRawBufferPointer
    public let scratch: UnsafeMutableRawBufferPointer

    public init(maxPlaintext: Int = 2048) throws {
        let initiatorKey = PrivateKey()
        let responderKey = PrivateKey()
        let clock = self.clock
        initiator = WireGuardPeer(localPrivate: initiatorKey, peerPublic: responderKey.publicKey, presharedKey: nil,
                                  indexAllocator: IndexAllocator(), wallClock: { clock.next() })
        responder = WireGuardPeer(localPrivate: responderKey, peerPublic: initiatorKey.publicKey, presharedKey: nil,
                                  indexAllocator: IndexAllocator(), wallClock: { clock.next() })
        let size = MessageLayout.transportHeaderSize + maxPlaintext + 2 * MessageLayout.tagSize
        wire = .allocate(byteCount: size, alignment: 16)
        scratch = .allocate(byteCount: size, alignment: 16)
        try handshake()
    }

    deinit {
        wire.deallocate()
        scratch.deallocate()
    }

    /// One full handshake: initiation, response, and the keepalive that confirms the session.
    /// Throws if any step does not produce what the protocol says it should.
    public func handshake() throws {
        now = now.adding(.milliseconds(1))
        guard case .writeToNetwork(let initiation) = initiator.initiateHandshake(into: wire, now: now) else {
            throw FixtureError(description: "initiation not written")
        }
        let response = responder.decapsulate(datagram: UnsafeRawBufferPointer(rebasing: wire[0..<initiation]),
                                             into: scratch, now: now)
        guard case .writeToNetwork(let responseCount) = response else {
            throw FixtureError(description: "response not written: \(response)")
        }
        let confirm = initiator.decapsulate(datagram: UnsafeRawBufferPointer(rebasing: scratch[0..<responseCount]),
                                            into: wire, now: now)
        guard case .writeToNetwork(let confirmCount) = confirm else {
            throw FixtureError(description: "confirmation not written: \(confirm)")
        }
        let last = responder.decapsulate(datagram: UnsafeRawBufferPointer(rebasing: wire[0..<confirmCount]),
                                         into: scratch, now: now)
        guard last == .done else { throw FixtureError(description: "confirmation refused: \(last)") }
    }
}

/// A 1,400-byte payload (the size of a full-MTU inner packet).
public func makePacket(count: Int = 1400) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
}

/// An Ethernet frame from `source` to `destination` (IPv4 ethertype) of `count` bytes in all.
public func makeFrame(from source: MACAddress, to destination: MACAddress, count: Int = 1000) -> [UInt8] {
    var frame = [UInt8](repeating: 0, count: max(count, 60))
    frame.replaceSubrange(0..<6, with: destination.octets)
    frame.replaceSubrange(6..<12, with: source.octets)
    frame[12] = 0x08
    frame[13] = 0x00
    return frame
}
