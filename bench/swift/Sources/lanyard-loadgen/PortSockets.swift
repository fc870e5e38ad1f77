import Glibc

/// Failure of a system call, with errno's text.
struct SystemCallError: Error, CustomStringConvertible {
    let description: String
    init(_ call: String, errno code: Int32 = errno) { description = "\(call): \(String(cString: strerror(code)))" }
}

/// The few UDP sockets all simulated ports share: each bound to the IPv6 wildcard on a port of its
/// own, so that one socket serves many ports and 20,000 ports stay far below the open-file limit.
/// A port sends from its own address (IPV6_PKTINFO per datagram, allowed by IP_FREEBIND although
/// the address is only routed to `lo`, not configured), so the switch sees a distinct endpoint
/// (address, port) per simulated port; replies are told apart by their destination address
/// (IPV6_RECVPKTINFO).
final class PortSockets {
    /// Ports served by each socket: contiguous blocks, so a burst of consecutive ports is one
    /// sendmmsg on one socket.
    static let portsPerSocket = 256
    /// Descriptors, one per socket.
    let descriptors: [Int32]

    /// Opens enough sockets for `ports` ports.
    init(ports: Int) throws(SystemCallError) {
        var descriptors: [Int32] = []
        do {
            for _ in 0..<(ports + Self.portsPerSocket - 1) / Self.portsPerSocket {
                descriptors.append(try Self.open())
            }
        } catch {
            for fd in descriptors { close(fd) }
            throw error
        }
        self.descriptors = descriptors
    }

    deinit { for fd in descriptors { close(fd) } }

    /// The socket port `index` uses.
    func descriptor(forPort index: Int) -> Int32 { descriptors[index / Self.portsPerSocket] }

    /// A non-blocking IPv6-only UDP socket on [::]:(free port), with 4 MB buffers, free binding
    /// and the destination address of every datagram reported.
    private static func open() throws(SystemCallError) -> Int32 {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket") }
        let options: [(level: Int32, name: Int32, value: Int32, text: String)] = [
            (Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, "IPV6_V6ONLY"),
            (Int32(IPPROTO_IP), IP_FREEBIND, 1, "IP_FREEBIND"),
            (Int32(IPPROTO_IPV6), IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"),
            (SOL_SOCKET, SO_RCVBUF, 4 << 20, "SO_RCVBUF"),
            (SOL_SOCKET, SO_SNDBUF, 4 << 20, "SO_SNDBUF"),
        ]
        for option in options {
            var value = option.value
            guard setsockopt(fd, option.level, option.name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                let code = errno
                close(fd)
                throw SystemCallError("setsockopt \(option.text)", errno: code)
            }
        }
        var any = sockaddr_in6()
        any.sin6_family = sa_family_t(AF_INET6)
        guard bind(fd, any) == 0 else {
            let code = errno
            close(fd)
            throw SystemCallError("bind [::]:0", errno: code)
        }
        return fd
    }

    /// A free UDP port on the switch's address, bound and released at once. Fails with the
    /// namespace hint when the address is not configured here.
    static func freeSwitchPort() throws -> UInt16 {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket") }
        defer { close(fd) }
        var address = AddressPlan.switchSocketAddress(port: 0)
        guard bind(fd, address) == 0 else {
            if errno == EADDRNOTAVAIL { throw LoadError.outsideNamespace }
            throw SystemCallError("bind [\(AddressPlan.switchAddress)]:0")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { throw SystemCallError("getsockname") }
        return UInt16(bigEndian: address.sin6_port)
    }

    private static func bind(_ fd: Int32, _ address: sockaddr_in6) -> Int32 {
        var address = address
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}
