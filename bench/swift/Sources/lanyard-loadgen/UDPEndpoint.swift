import Glibc

/// Failure of a system call, with errno's text.
struct SystemCallError: Error, CustomStringConvertible {
    let description: String
    init(_ call: String) { description = "\(call): \(String(cString: strerror(errno)))" }
}

/// A non-blocking UDP socket bound to a loopback address on its own port and connected to one peer
/// (the switch), so `send`/`receive` need no addresses and the kernel filters other senders.
final class UDPEndpoint {
    let fd: Int32

    /// Opens, binds to 127.0.0.1:`localPort` (0 = any free port) and connects to 127.0.0.1:`remotePort`
    /// (none if 0). `bufferBytes` sets SO_RCVBUF/SO_SNDBUF when non-zero.
    /// `localHost` (host order) picks the loopback address to bind; 127.0.0.1 by default.
    init(localHost: UInt32 = 0x7F00_0001, localPort: UInt16 = 0, remotePort: UInt16, bufferBytes: Int32 = 0) throws(SystemCallError) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket") }
        if bufferBytes > 0 {
            var size = bufferBytes
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var local = Self.loopback(port: localPort, host: localHost)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { close(fd); throw SystemCallError("bind") }
        if remotePort != 0 {
            var remote = Self.loopback(port: remotePort)
            let connected = withUnsafePointer(to: &remote) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { close(fd); throw SystemCallError("connect") }
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// The local port the kernel chose.
    var localPort: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return ok == 0 ? UInt16(bigEndian: address.sin_port) : 0
    }

    /// Sends one datagram; false if the kernel refused it (full buffer, connection refused).
    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT)) == bytes.count
    }

    /// Receives one datagram into `buffer`: its size, or nil when nothing is waiting.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
        return n >= 0 ? n : nil
    }

    private static func loopback(port: UInt16, host: UInt32 = 0x7F00_0001) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = host.bigEndian
        return address
    }
}
