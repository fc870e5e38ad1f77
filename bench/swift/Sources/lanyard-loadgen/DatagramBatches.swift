import CLanyardLinux
import Glibc

/// Slots for batched calls (recvmmsg/sendmmsg through CLanyardLinux), each with a buffer of
/// `Buffers.size` bytes of one contiguous allocation.
private struct Slots {
    let count: Int
    let slots: UnsafeMutablePointer<clanyard_datagram>
    let storage: UnsafeMutableRawBufferPointer

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: clanyard_datagram(), count: count)
        storage = .allocate(byteCount: count * Buffers.size, alignment: 64)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        for i in 0..<count {
            slots[i].buffer = storage.baseAddress! + i * Buffers.size
            slots[i].capacity = Buffers.size
        }
    }

    func deallocate() {
        slots.deallocate()
        storage.deallocate()
    }

    func buffer(_ i: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: slots[i].buffer, count: Buffers.size)
    }
}

/// Datagrams waiting to go out (to the switch, or to another port on a direct path), each from
/// its port's own address (IPV6_PKTINFO):
/// one sendmmsg per run of consecutive datagrams on the same socket, when the batch is full or
/// flushed. Callers seal straight into `reserve()`'s buffer and `commit` it.
final class Outbox {
    static let capacity = 64
    private let batch = Slots(count: capacity)
    private var descriptors = [Int32](repeating: -1, count: capacity)
    private var count = 0
    /// Datagrams the kernel refused (full buffer): lost.
    private(set) var failures = 0

    /// Where datagrams go unless `commit` names another destination.
    let switchAddress: sockaddr_in6

    init(switchAddress: sockaddr_in6) {
        self.switchAddress = switchAddress
        for i in 0..<Self.capacity {
            batch.slots[i].address_length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            batch.slots[i].source_family = AF_INET6
        }
    }

    deinit { batch.deallocate() }

    /// The buffer the next datagram is written into (sends the batch first if it is full).
    func reserve() -> UnsafeMutableRawBufferPointer {
        if count == Self.capacity { flush() }
        return batch.buffer(count)
    }

    /// Queues the first `length` bytes of `reserve()`'s buffer, from port `index` on socket `fd`,
    /// to the switch or to `destination`.
    func commit(_ length: Int, fromPort index: Int, socket fd: Int32, to destination: sockaddr_in6? = nil) {
        let slot = batch.slots + count
        slot.pointee.length = length
        withUnsafeMutableBytes(of: &slot.pointee.source) { AddressPlan.writeAddress(of: index, into: $0.baseAddress!) }
        withUnsafeMutableBytes(of: &slot.pointee.address) { raw in
            withUnsafeBytes(of: destination ?? switchAddress) { raw.copyMemory(from: $0) }
        }
        descriptors[count] = fd
        count += 1
    }

    /// Copies `bytes` into the batch, from port `index` on socket `fd`.
    func enqueue(_ bytes: UnsafeRawBufferPointer, fromPort index: Int, socket fd: Int32) {
        reserve().copyMemory(from: bytes)
        commit(bytes.count, fromPort: index, socket: fd)
    }

    /// Sends everything queued.
    func flush() {
        var start = 0
        while start < count {
            var end = start + 1
            while end < count && descriptors[end] == descriptors[start] { end += 1 }
            var sent = start
            // Bounded: each round sends at least one datagram or gives up on the rest of the run.
            while sent < end {
                let n = clanyard_send_batch(descriptors[start], batch.slots + sent, UInt32(end - sent))
                if n <= 0 { failures += end - sent; break }
                sent += Int(n)
            }
            start = end
        }
        count = 0
    }
}

/// Datagrams received on one socket, with the port each was addressed to (IPV6_RECVPKTINFO).
final class Inbox {
    static let capacity = 64
    private let batch = Slots(count: capacity)

    deinit { batch.deallocate() }

    /// Receives up to `capacity` datagrams from `fd`: how many (0 when none was waiting).
    func receive(from fd: Int32) -> Int {
        let n = clanyard_recv_batch(fd, batch.slots, UInt32(Self.capacity))
        return max(0, Int(n))
    }

    /// Datagram `i` of the last `receive`: its bytes (nil when truncated), the port it was
    /// addressed to (nil for an address outside the plan) and the port that sent it (nil when the
    /// switch or anyone else did).
    func datagram(_ i: Int) -> (bytes: UnsafeRawBufferPointer?, port: Int?, sender: Int?) {
        let slot = batch.slots + i
        let port = slot.pointee.source_family == AF_INET6
            ? withUnsafeBytes(of: slot.pointee.source) { AddressPlan.port(at: $0.baseAddress!) } : nil
        let sender = slot.pointee.address.ss_family == sa_family_t(AF_INET6)
            ? withUnsafeBytes(of: slot.pointee.address) { AddressPlan.port(at: $0.baseAddress! + 8) } : nil
        guard slot.pointee.length <= Buffers.size else { return (nil, port, sender) }
        return (UnsafeRawBufferPointer(start: slot.pointee.buffer, count: slot.pointee.length), port, sender)
    }

    /// The socket address that sent datagram `i` (an IPv6 socket receives only IPv6).
    func senderAddress(_ i: Int) -> sockaddr_in6 {
        withUnsafeBytes(of: batch.slots[i].address) { $0.loadUnaligned(as: sockaddr_in6.self) }
    }
}
