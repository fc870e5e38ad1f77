/// WireGuard's cryptokey routing table: prefixes → peer, longest prefix wins, IPv4 and IPv6.
/// Outgoing packets go to the peer whose allowed prefix matches the destination most
/// specifically; an incoming packet is accepted only if its source maps back to the peer that
/// sent it. A prefix belongs to one peer at a time: adding it for another peer moves it.
///
/// A binary trie per family in flat arrays (no object per node, no allocation per lookup): a
/// lookup reads at most 32 (IPv4) or 128 (IPv6) nodes, whatever the number of peers and prefixes.
/// Removed prefixes leave their inner nodes behind (reused by later inserts); `compact()` is
/// not needed for correctness.
public struct AllowedIPs: Sendable {
    struct Node: Sendable {
        var zero: Int32 = -1
        var one: Int32 = -1
        var value: UInt32 = AllowedIPs.none
    }
    static let none = UInt32.max
    private var v4: [Node] = [Node()]
    private var v6: [Node] = [Node()]
    private var byPeer: [UInt32: [IPPrefix]] = [:]

    public init() {}

    /// Number of prefixes held.
    public var count: Int { byPeer.values.reduce(0) { $0 + $1.count } }

    /// The prefixes of `peer`, in the order they were added.
    public func prefixes(of peer: UInt32) -> [IPPrefix] { byPeer[peer] ?? [] }

    /// Routes `prefix` to `peer` (taking it from any other peer that had it).
    public mutating func insert(_ prefix: IPPrefix, for peer: UInt32) {
        if let old = lookupExact(prefix), old != peer { byPeer[old]?.removeAll { $0 == prefix } }
        if !(byPeer[peer]?.contains(prefix) ?? false) { byPeer[peer, default: []].append(prefix) }
        setValue(prefix, peer)
    }

    /// Removes every prefix of `peer`.
    public mutating func removeAll(of peer: UInt32) {
        for p in byPeer[peer] ?? [] { setValue(p, Self.none) }
        byPeer[peer] = nil
    }

    /// The peer for an IPv4 destination (host order), if any prefix covers it.
    @inlinable
    public func lookup(ipv4 address: UInt32) -> UInt32? { lookup4(address) }

    /// The peer for an IPv6 destination.
    @inlinable
    public func lookup(ipv6High high: UInt64, low: UInt64) -> UInt32? { lookup6(high, low) }

    /// The peer for the destination of an IP packet.
    public func lookup(destinationOf packet: UnsafeRawBufferPointer) -> UInt32? {
        switch IPPacket.version(packet) {
        case 4: return lookup4(IPPacket.ipv4Destination(packet))
        case 6: let (h, l) = IPPacket.ipv6Destination(packet); return lookup6(h, l)
        default: return nil
        }
    }

    /// The peer that may send from the source of an IP packet.
    public func lookup(sourceOf packet: UnsafeRawBufferPointer) -> UInt32? {
        switch IPPacket.version(packet) {
        case 4: return lookup4(IPPacket.ipv4Source(packet))
        case 6: let (h, l) = IPPacket.ipv6Source(packet); return lookup6(h, l)
        default: return nil
        }
    }

    @usableFromInline
    func lookup4(_ address: UInt32) -> UInt32? {
        v4.withUnsafeBufferPointer { nodes in
            var best = nodes[0].value
            var i = 0
            var bit = 31
            while bit >= 0 {
                let next = (address >> UInt32(bit)) & 1 == 0 ? nodes[i].zero : nodes[i].one
                if next < 0 { break }
                i = Int(next)
                if nodes[i].value != Self.none { best = nodes[i].value }
                bit -= 1
            }
            return best == Self.none ? nil : best
        }
    }

    @usableFromInline
    func lookup6(_ high: UInt64, _ low: UInt64) -> UInt32? {
        v6.withUnsafeBufferPointer { nodes in
            var best = nodes[0].value
            var i = 0
            for depth in 0..<128 {
                let word = depth < 64 ? high : low
                let bit = (word >> UInt64(63 - depth % 64)) & 1
                let next = bit == 0 ? nodes[i].zero : nodes[i].one
                if next < 0 { break }
                i = Int(next)
                if nodes[i].value != Self.none { best = nodes[i].value }
            }
            return best == Self.none ? nil : best
        }
    }

    private func lookupExact(_ prefix: IPPrefix) -> UInt32? {
        let nodes = prefix.isIPv6 ? v6 : v4
        var i = 0
        for depth in 0..<prefix.length {
            let next = bitOf(prefix, depth) == 0 ? nodes[i].zero : nodes[i].one
            if next < 0 { return nil }
            i = Int(next)
        }
        return nodes[i].value == Self.none ? nil : nodes[i].value
    }

    private func bitOf(_ prefix: IPPrefix, _ depth: Int) -> UInt64 {
        if !prefix.isIPv6 { return (prefix.low >> UInt64(31 - depth)) & 1 }
        let word = depth < 64 ? prefix.high : prefix.low
        return (word >> UInt64(63 - depth % 64)) & 1
    }

    private mutating func setValue(_ prefix: IPPrefix, _ value: UInt32) {
        if prefix.isIPv6 { Self.set(&v6, prefix, value, bitOf) } else { Self.set(&v4, prefix, value, bitOf) }
    }

    private static func set(_ nodes: inout [Node], _ prefix: IPPrefix, _ value: UInt32, _ bitOf: (IPPrefix, Int) -> UInt64) {
        var i = 0
        for depth in 0..<prefix.length {
            let bit = bitOf(prefix, depth)
            var next = bit == 0 ? nodes[i].zero : nodes[i].one
            if next < 0 {
                if value == none { return } // nothing to remove
                nodes.append(Node())
                next = Int32(nodes.count - 1)
                if bit == 0 { nodes[i].zero = next } else { nodes[i].one = next }
            }
            i = Int(next)
        }
        nodes[i].value = value
    }
}
