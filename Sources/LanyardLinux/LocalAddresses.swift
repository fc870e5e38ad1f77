import Glibc
import LanyardCore

extension SocketAddress {
    /// The address as carried in Lanyard messages (an IPv4-mapped IPv6 address becomes IPv4).
    public var candidate: CandidateAddress? {
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET { return CandidateAddress(address: Array(raw[4..<8]), port: port) }
            guard family == AF_INET6 else { return nil }
            let a = Array(raw[8..<24])
            if a.prefix(10).allSatisfy({ $0 == 0 }) && a[10] == 0xFF && a[11] == 0xFF {
                return CandidateAddress(address: Array(a[12..<16]), port: port)
            }
            return CandidateAddress(address: a, port: port)
        }
    }

    /// A socket address for a candidate from a message.
    public init(_ candidate: CandidateAddress) {
        var storage = sockaddr_storage()
        let length: socklen_t
        withUnsafeMutableBytes(of: &storage) { raw in
            raw[2] = UInt8(candidate.port >> 8); raw[3] = UInt8(candidate.port & 0xFF)
            if candidate.address.count == 4 {
                for i in 0..<4 { raw[4 + i] = candidate.address[i] }
            } else {
                for i in 0..<16 { raw[8 + i] = candidate.address[i] }
            }
        }
        if candidate.address.count == 4 {
            storage.ss_family = sa_family_t(AF_INET)
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else {
            storage.ss_family = sa_family_t(AF_INET6)
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
        self.init(storage: storage, length: length)
    }
}

/// This host's addresses that another member might reach directly: every IPv4 and global IPv6
/// address that is up, except loopback, link-local ones and those on `excluding` (the port's own
/// TAP device, whose addresses live inside the overlay).
public func localCandidateAddresses(port: UInt16, family: Int32, excluding: Set<String>) -> [CandidateAddress] {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0, let first = list else { return [] }
    defer { freeifaddrs(list) }
    var out: [CandidateAddress] = []
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
        defer { cursor = entry.pointee.ifa_next }
        guard let sa = entry.pointee.ifa_addr, entry.pointee.ifa_flags & UInt32(IFF_UP) != 0,
              entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
        let name = String(cString: entry.pointee.ifa_name)
        if excluding.contains(name) { continue }
        let f = Int32(sa.pointee.sa_family)
        if f == AF_INET {
            let bytes = withUnsafeBytes(of: sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }) { Array($0) }
            if bytes[0] == 169 && bytes[1] == 254 { continue }
            if let c = CandidateAddress(address: bytes, port: port) { out.append(c) }
        } else if f == AF_INET6, family == AF_INET6 {
            let bytes = withUnsafeBytes(of: sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }) { Array($0) }
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { continue }
            if let c = CandidateAddress(address: bytes, port: port) { out.append(c) }
        }
    }
    return Array(out.prefix(CandidateList.maximum))
}
