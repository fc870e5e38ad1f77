import CLanyardLinux
import Glibc

/// A non-blocking UDP socket that receives and sends in batches (recvmmsg/sendmmsg).
public final class UDPSocket {
    public let fileDescriptor: Int32
    public let family: Int32

    /// Opens a socket bound to `local` (port 0 for any). An IPv6 wildcard also accepts IPv4.
    public init(bindTo local: SocketAddress) throws(SystemError) {
        family = local.family
        fileDescriptor = try Self.open(bindTo: local)
    }

    /// A non-blocking UDP socket with Lanyard's options, bound to `local`.
    private static func open(bindTo local: SocketAddress) throws(SystemError) -> Int32 {
        let family = local.family
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .call("socket", errno: errno) }
        var off: Int32 = 0
        if family == AF_INET6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size)) }
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = clanyard_udp_enable_gro(fd) // best effort: without it datagrams simply arrive one by one
        _ = clanyard_udp_enable_pktinfo(fd, family) // best effort: without it the route picks the reply source
        var address = local
        let rc = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, address.length) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            if e == EADDRINUSE { throw .addressInUse(local.description) }
            if e == EADDRNOTAVAIL { throw .badAddress(local.description, reason: "no interface on this host has that address") }
            throw .from("binding UDP \(local)", errno: e)
        }
        return fd
    }

    /// Moves this socket to a new ephemeral local port of the same address, keeping its file
    /// descriptor number (the event loop polls it by number): what was queued on the old port is
    /// lost. For a socket that talks to one hub through a NAT that may hold a stale mapping
    /// (the NAT's public address changed and its table still uses the old one): a new local port
    /// is a new flow, and gets a new mapping.
    public func rebind() throws(SystemError) {
        var any = sockaddr_storage()
        any.ss_family = sa_family_t(family)
        let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        let fresh = try Self.open(bindTo: SocketAddress(storage: any, length: length))
        defer { close(fresh) }
        guard dup2(fresh, fileDescriptor) >= 0 else { throw .call("dup2", errno: errno) }
    }

    /// Opens a socket of the right family to talk to `remote`, on an ephemeral local port.
    public convenience init(toReach remote: SocketAddress) throws(SystemError) {
        var any = sockaddr_storage()
        any.ss_family = sa_family_t(remote.family)
        let length = socklen_t(remote.family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        try self.init(bindTo: SocketAddress(storage: any, length: length))
    }

    /// The bound local address.
    public var localAddress: SocketAddress {
        SocketAddress.bound(to: fileDescriptor)
    }

    /// Converts `address` to this socket's family (IPv4 → IPv4-mapped IPv6 on an IPv6 socket).
    public func adapt(_ address: SocketAddress) -> SocketAddress {
        guard family == AF_INET6, address.family == AF_INET else { return address }
        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        withUnsafeBytes(of: address.storage) { src in
            withUnsafeMutableBytes(of: &v6) { dst in
                dst[2] = src[2]; dst[3] = src[3]
                dst[18] = 0xFF; dst[19] = 0xFF
                for i in 0..<4 { dst[20 + i] = src[4 + i] }
            }
        }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: v6) { dst.copyMemory(from: $0) } }
        return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
    }

    /// Receives up to `batch.capacity` slots into `batch`; returns how many (0 if none waiting).
    public func receive(into batch: DatagramBatch) throws(SystemError) -> Int {
        let n = clanyard_recv_batch(fileDescriptor, batch.slots, UInt32(batch.capacity))
        if n < 0 {
            if -n == EINTR || -n == ECONNREFUSED { batch.count = 0; return 0 }
            throw .call("recvmmsg", errno: -n)
        }
        batch.count = Int(n)
        return Int(n)
    }

    /// What became of a batch the kernel did not take whole: datagrams it would not queue now
    /// (send queue full) and datagrams it refused (unreachable destination, too large).
    public struct SendLosses: Sendable {
        public var unsent = 0
        public var refused = 0
    }

    /// Sends every queued slot of `batch` and empties it. What the kernel will not take now is
    /// dropped (as a full NIC queue would) and counted. A coalesced slot the kernel refuses is
    /// sent datagram by datagram: GSO segments larger than the path carries unfragmented
    /// (EMSGSIZE, EINVAL on older kernels) lower the batch's segment limit; GSO not supported
    /// at all turns coalescing off for good. (A segment limit is lifted again after a while.)
    @discardableResult
    public func send(_ batch: DatagramBatch) -> SendLosses {
        var losses = SendLosses()
        var sent = 0
        var attempts = 0
        while sent < batch.count && attempts < 8 {
            attempts += 1
            let n = clanyard_send_batch(fileDescriptor, batch.slots + sent, UInt32(batch.count - sent))
            if n > 0 { sent += Int(n); continue }
            let e = -n
            if e == EAGAIN || e == ENOBUFS { break }
            let slot = batch.slots[sent]
            if slot.source_family != 0 && (e == EINVAL || e == EADDRNOTAVAIL || e == ENETUNREACH) {
                // A local address a peer wrote to is gone (or unusable): let the route pick the
                // source for the rest of this batch, in one step, and retry without counting it.
                for i in sent..<batch.count { batch.slots[i].source_family = 0 }
                attempts -= 1
                continue
            }
            sent += 1
            if slot.length > slot.segment {
                if e == EMSGSIZE || e == EINVAL {
                    batch.refuseSegments(of: slot.segment)
                    losses.refused += sendSplit(slot)
                    continue
                }
                if e == EIO || e == EOPNOTSUPP || e == ENOPROTOOPT {
                    batch.stopCoalescing()
                    losses.refused += sendSplit(slot)
                    continue
                }
            }
            losses.refused += Self.datagrams(in: slot) // an unreachable destination (ICMP error) or a refused datagram
        }
        for i in sent..<max(sent, batch.count) { losses.unsent += Self.datagrams(in: batch.slots[i]) }
        batch.reset()
        return losses
    }

    /// How many datagrams a slot holds.
    private static func datagrams(in slot: clanyard_datagram) -> Int {
        slot.segment > 0 ? (slot.length + slot.segment - 1) / slot.segment : 1
    }

    /// Sends a coalesced slot one datagram at a time; returns how many were refused.
    private func sendSplit(_ slot: clanyard_datagram) -> Int {
        var single = slot
        var offset = 0
        var refused = 0
        while offset < slot.length {
            let n = min(slot.segment, slot.length - offset)
            single.buffer = slot.buffer! + offset
            single.length = n
            single.segment = 0
            if clanyard_send_batch(fileDescriptor, &single, 1) != 1 { refused += 1 }
            offset += n
        }
        return refused
    }

    deinit { close(fileDescriptor) }
}
