/// An IPv4 or IPv6 prefix such as 198.51.100.0/24 or 2001:db8::/32, stored as 16 bytes
/// (IPv4 in the last four) so that matching is a few integer operations.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public let isIPv6: Bool
    /// The address, masked to the prefix length. IPv4 uses `low` only (in its low 32 bits).
    public let high: UInt64
    public let low: UInt64
    public let length: Int

    /// Parses "ADDRESS/LENGTH" (a bare address means a host prefix).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let address = String(parts[0])
        if let v4 = IPPrefix.parseIPv4(address) {
            let len = parts.count == 2 ? Int(parts[1]) : 32
            guard let len, (0...32).contains(len) else { return nil }
            isIPv6 = false
            length = len
            high = 0
            low = len == 0 ? 0 : UInt64(v4) & (UInt64(0xFFFF_FFFF) << (32 - len)) & 0xFFFF_FFFF
        } else if let (h, l) = IPPrefix.parseIPv6(address) {
            let len = parts.count == 2 ? Int(parts[1]) : 128
            guard let len, (0...128).contains(len) else { return nil }
            isIPv6 = true
            length = len
            (high, low) = IPPrefix.mask(h, l, len)
        } else {
            return nil
        }
    }

    /// True when this IPv4 address (host order) is inside the prefix.
    @inlinable public func contains(ipv4 address: UInt32) -> Bool {
        guard !isIPv6 else { return false }
        if length == 0 { return true }
        return UInt64(address) & (UInt64(0xFFFF_FFFF) << (32 - length)) & 0xFFFF_FFFF == low
    }

    /// True when this IPv6 address is inside the prefix.
    @inlinable public func contains(ipv6High h: UInt64, low l: UInt64) -> Bool {
        guard isIPv6 else { return false }
        let (mh, ml) = IPPrefix.mask(h, l, length)
        return mh == high && ml == low
    }

    /// True when the source address of an IP packet is inside the prefix.
    public func containsSource(ofPacket p: UnsafeRawBufferPointer) -> Bool {
        guard let version = IPPacket.version(p) else { return false }
        if version == 4 { return contains(ipv4: IPPacket.ipv4Source(p)) }
        let (h, l) = IPPacket.ipv6Source(p)
        return contains(ipv6High: h, low: l)
    }

    @inlinable static func mask(_ h: UInt64, _ l: UInt64, _ len: Int) -> (UInt64, UInt64) {
        if len == 0 { return (0, 0) }
        if len <= 64 { return (h & (~UInt64(0) << (64 - len)), 0) }
        if len == 128 { return (h, l) }
        return (h, l & (~UInt64(0) << (128 - len)))
    }

    static func parseIPv4(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, let o = UInt8(p) else { return nil }
            v = v << 8 | UInt32(o)
        }
        return v
    }

    static func parseIPv6(_ s: String) -> (UInt64, UInt64)? {
        guard s.contains(":"), s.filter({ $0 == ":" }).count <= 7 || s.contains("::") else { return nil }
        let halves = s.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return nil }
        func groups(_ t: Substring) -> [UInt16]? {
            if t.isEmpty { return [] }
            var out: [UInt16] = []
            for g in t.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        let h = all[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let l = all[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return (h, l)
    }

    public var description: String {
        if !isIPv6 {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)/\(length)"
        }
        let groups = (0..<8).map { i -> String in
            let word = i < 4 ? high >> UInt64(48 - 16 * i) : low >> UInt64(48 - 16 * (i - 4))
            return String(UInt16(truncatingIfNeeded: word), radix: 16)
        }
        return groups.joined(separator: ":") + "/\(length)"
    }
}

extension String {
    /// Splits at "::" (IPv6 zero compression): one part if absent, three (invalid) if it repeats.
    func components(separatedByDoubleColon: ()) -> [Substring] {
        let chars = Array(utf8)
        var found: [Int] = []
        var i = 0
        while i + 1 < chars.count {
            if chars[i] == UInt8(ascii: ":") && chars[i + 1] == UInt8(ascii: ":") { found.append(i); i += 2 } else { i += 1 }
        }
        guard let first = found.first else { return [Substring(self)] }
        if found.count > 1 { return [Substring(self), "", ""] }
        let head = utf8.index(startIndex, offsetBy: first)
        let tail = utf8.index(head, offsetBy: 2)
        return [self[..<head], self[tail...]]
    }
}

/// Reads the fields of an IP packet that the tunnel needs, with length checks.
public enum IPPacket {
    /// 4 or 6 when the buffer starts with a complete-enough header of that version, else nil.
    public static func version(_ p: UnsafeRawBufferPointer) -> Int? {
        guard let first = p.first else { return nil }
        switch first >> 4 {
        case 4: return p.count >= 20 ? 4 : nil
        case 6: return p.count >= 40 ? 6 : nil
        default: return nil
        }
    }

    /// The packet's own length from its header (to trim WireGuard padding), nil if inconsistent.
    public static func length(_ p: UnsafeRawBufferPointer) -> Int? {
        switch version(p) {
        case 4:
            let n = Int(p[2]) << 8 | Int(p[3])
            return n >= 20 && n <= p.count ? n : nil
        case 6:
            let n = 40 + (Int(p[4]) << 8 | Int(p[5]))
            return n <= p.count ? n : nil
        default: return nil
        }
    }

    public static func ipv4Source(_ p: UnsafeRawBufferPointer) -> UInt32 { read32(p, 12) }
    public static func ipv4Destination(_ p: UnsafeRawBufferPointer) -> UInt32 { read32(p, 16) }
    public static func ipv6Source(_ p: UnsafeRawBufferPointer) -> (UInt64, UInt64) { (read64(p, 8), read64(p, 16)) }
    public static func ipv6Destination(_ p: UnsafeRawBufferPointer) -> (UInt64, UInt64) { (read64(p, 24), read64(p, 32)) }

    @inline(__always) static func read32(_ p: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
        UInt32(p[o]) << 24 | UInt32(p[o + 1]) << 16 | UInt32(p[o + 2]) << 8 | UInt32(p[o + 3])
    }
    @inline(__always) static func read64(_ p: UnsafeRawBufferPointer, _ o: Int) -> UInt64 {
        UInt64(read32(p, o)) << 32 | UInt64(read32(p, o + 4))
    }
}
