import Glibc

/// The documentation addresses of a run (RFC 3849), inside the network namespace that
/// bench/loadgen.sh makes: the switch on `lo` at 2001:db8:5::1, and port i at
/// 2001:db8:1hh:llll::1, where hh:llll is i in 24 bits. Every port has a /64 of its own (the switch
/// limits handshakes per IPv6 /64 under load), all inside 2001:db8:100::/40, which the script
/// routes to `lo` as AnyIP (`ip -6 route add local 2001:db8:100::/40 dev lo`).
enum AddressPlan {
    /// The switch's address, configured on `lo` by the script.
    static let switchAddress = "2001:db8:5::1"
    /// The route that makes every port address local (documented here; the script adds it).
    static let portRange = "2001:db8:100::/40"
    /// Ports the plan can address (24 bits of /64s).
    static let capacity = 1 << 24

    /// Writes port `index`'s address (16 bytes) at `out`.
    static func writeAddress(of index: Int, into out: UnsafeMutableRawPointer) {
        let bytes: (UInt64, UInt64) = (
            (0x2001_0db8_0100_0000 | UInt64(index & 0xFF_FFFF)).bigEndian,
            UInt64(1).bigEndian
        )
        withUnsafeBytes(of: bytes) { out.copyMemory(from: $0.baseAddress!, byteCount: 16) }
    }

    /// The port whose address is `address` (16 bytes), or nil for an address outside the plan.
    static func port(at address: UnsafeRawPointer) -> Int? {
        let high = UInt64(bigEndian: address.loadUnaligned(as: UInt64.self))
        let low = UInt64(bigEndian: address.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        guard high & 0xFFFF_FFFF_FF00_0000 == 0x2001_0db8_0100_0000, low == 1 else { return nil }
        return Int(high & 0xFF_FFFF)
    }

    /// Port `index`'s address as text, for messages.
    static func text(of index: Int) -> String {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { writeAddress(of: index, into: $0.baseAddress!) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The switch's socket address at `port`.
    static func switchSocketAddress(port: UInt16) -> sockaddr_in6 {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        _ = inet_pton(AF_INET6, switchAddress, &address.sin6_addr)
        return address
    }
}
