import Glibc

/// An IPv4 or IPv6 UDP endpoint in the kernel's own form (`sockaddr_storage`), so it goes to
/// `sendmmsg` without conversion. IPv4-mapped IPv6 addresses print as IPv4.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public var storage: sockaddr_storage
    public var length: socklen_t
    /// For a peer's address learned from a datagram: the local address that datagram was sent to,
    /// which replies leave from (a multi-homed host must not answer from another of its
    /// addresses). Not part of the address's identity: `==` and hashing ignore it.
    public var replySource = LocalSource()

    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// Parses a literal "ADDR:PORT", "[V6]:PORT" or bare "PORT" (all addresses); names resolve via DNS.
    public static func resolve(_ text: String, defaultHost: String? = nil, passive: Bool = false) throws(SystemError) -> SocketAddress {
        let (host, portText) = try split(text, defaultHost: defaultHost)
        guard let port = UInt16(portText), port > 0 || passive else {
            throw .badAddress(text, reason: "the port must be a number from 1 to 65535")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw .badAddress(text, reason: rc == 0 ? "no address found" : cText(gai_strerror(rc)))
        }
        defer { freeaddrinfo(result) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return SocketAddress(storage: storage, length: first.pointee.ai_addrlen)
    }

    private static func split(_ text: String, defaultHost: String?) throws(SystemError) -> (String?, String) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .badAddress(text, reason: "missing ']'") }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .badAddress(text, reason: "expected [ADDRESS]:PORT") }
            return (host, String(rest.dropFirst()))
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 0 {
            if UInt16(text) != nil { return (defaultHost, text) }
            throw .badAddress(text, reason: "expected HOST:PORT")
        }
        if colons > 1 { throw .badAddress(text, reason: "write IPv6 addresses as [ADDRESS]:PORT") }
        let i = text.lastIndex(of: ":")!
        let host = String(text[..<i])
        return (host.isEmpty ? defaultHost : host, String(text[text.index(after: i)...]))
    }

    public var family: Int32 { Int32(storage.ss_family) }

    /// The port number.
    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            // sin_port and sin6_port are both at offset 2, big-endian.
            UInt16(raw[2]) << 8 | UInt16(raw[3])
        }
    }

    /// Address bytes (4 or 16) and port, the identity used for cookies and rate limits.
    public var identityBytes: [UInt8] {
        withUnsafeBytes(of: storage) { raw in
            family == AF_INET ? Array(raw[2..<8]) : Array(raw[2..<4]) + Array(raw[8..<24])
        }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return withUnsafeBytes(of: storage) { raw -> String in
            if family == AF_INET {
                _ = inet_ntop(AF_INET, raw.baseAddress! + 4, &buffer, socklen_t(buffer.count))
                return "\(cText(buffer)):\(port)"
            }
            let addr = raw.baseAddress! + 8
            let bytes = raw[8..<24]
            if bytes.prefix(10).allSatisfy({ $0 == 0 }) && bytes[18] == 0xFF && bytes[19] == 0xFF {
                _ = inet_ntop(AF_INET, addr + 12, &buffer, socklen_t(buffer.count))
                return "\(cText(buffer)):\(port)"
            }
            _ = inet_ntop(AF_INET6, addr, &buffer, socklen_t(buffer.count))
            return "[\(cText(buffer))]:\(port)"
        }
    }

    /// Byte-wise comparison of the kernel form: no allocation, cheap enough per packet.
    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        guard a.length == b.length else { return false }
        return withUnsafeBytes(of: a.storage) { x in
            withUnsafeBytes(of: b.storage) { y in memcmp(x.baseAddress!, y.baseAddress!, Int(a.length)) == 0 }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: storage) { hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<Int(length)])) }
    }
}

/// A local IP address to send from (IP_PKTINFO / IPV6_PKTINFO), or none (the route decides).
public struct LocalSource: Sendable, Equatable {
    /// The address bytes (IPv4 in the first four; IPv4-mapped on an IPv6 socket).
    public var bytes: (UInt64, UInt64) = (0, 0)
    /// 0 (none), AF_INET or AF_INET6.
    public var family: Int32 = 0

    public init() {}

    public static func == (a: LocalSource, b: LocalSource) -> Bool {
        a.family == b.family && a.bytes.0 == b.bytes.0 && a.bytes.1 == b.bytes.1
    }
}

extension SocketAddress {
    /// The local address socket `fd` is bound to (getsockname).
    static func bound(to fd: Int32) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return SocketAddress(storage: storage, length: length)
    }
}
