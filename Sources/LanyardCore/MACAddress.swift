/// A 48-bit Ethernet MAC address, stored in the low 48 bits of a `UInt64` so that hashing and
/// comparison cost one machine word.
public struct MACAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address as a big-endian 48-bit number (first octet in bits 40...47).
    public let rawValue: UInt64

    /// The broadcast address ff:ff:ff:ff:ff:ff.
    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)

    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    /// Reads six octets starting at `offset`; the caller guarantees they are in bounds.
    @inlinable
    public init(bytes: UnsafeRawBufferPointer, offset: Int) {
        var v: UInt64 = 0
        for i in 0..<6 { v = (v << 8) | UInt64(bytes[offset + i]) }
        self.rawValue = v
    }

    /// Parses "aa:bb:cc:dd:ee:ff" (or with '-'); nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(omittingEmptySubsequences: false) { $0 == ":" || $0 == "-" }
        guard parts.count == 6 else { return nil }
        var v: UInt64 = 0
        for p in parts {
            guard p.count == 2, let octet = UInt8(p, radix: 16) else { return nil }
            v = (v << 8) | UInt64(octet)
        }
        self.rawValue = v
    }

    /// True for group addresses (broadcast and multicast, including IPv6's 33:33:xx).
    @inlinable public var isMulticast: Bool { (rawValue >> 40) & 0x01 == 1 }
    @inlinable public var isBroadcast: Bool { rawValue == 0xFFFF_FFFF_FFFF }
    /// The all-zero address, never a valid source.
    @inlinable public var isZero: Bool { rawValue == 0 }

    public var octets: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> UInt64(40 - 8 * $0)) } }

    public var description: String {
        octets.map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: ":")
    }

    public static func < (a: MACAddress, b: MACAddress) -> Bool { a.rawValue < b.rawValue }

    /// A locally administered unicast address that depends only on `publicKey` (32 bytes): a port
    /// keeps its MAC across restarts, so the other members' neighbour caches (ARP, ND) stay right
    /// and nothing waits for them to expire. Keyed SipHash of the key, so the MAC does not show
    /// the key's own bytes.
    public static func stable(forPublicKey publicKey: [UInt8]) -> MACAddress {
        let label = Array("lanyard tap mac\u{0}".utf8)
        let tag = publicKey.withUnsafeBytes { SipHash24(key: label).tag($0) }
        // Clear the group bit (unicast), set the locally administered bit.
        return MACAddress(rawValue: (tag & 0xFCFF_FFFF_FFFF & 0xFFFF_FFFF_FFFF) | 0x0200_0000_0000)
    }
}
