import LanyardCore
import LanyardLinux

/// A UDP socket with its receive and send batches: the datagram I/O every node does, in one place.
/// Receiving splits GRO-coalesced slots; sending seals straight into the outgoing batch (no copy)
/// and lets the batch coalesce for UDP GSO.
public final class BatchedSocket {
    public let socket: UDPSocket
    private let inbound = DatagramBatch(capacity: 64)
    private let outbound = DatagramBatch(capacity: 64)
    /// Room reserved for what a link's timers may write (keepalive, initiation, a queued packet).
    static let timerRoom = 16_384

    public init(_ socket: UDPSocket) { self.socket = socket }

    /// Receives everything waiting (up to 16 batches); `body` gets each datagram and a way to
    /// read its sender. The outgoing batch is flushed after each batch received.
    public func receiveAll(oversized: () -> Void,
                           _ body: (UnsafeRawBufferPointer, () -> SocketAddress) -> Void) throws(SystemError) {
        for _ in 0..<16 {
            let n = try socket.receive(into: inbound)
            if n == 0 { break }
            inbound.forEachDatagram(oversized: oversized) { bytes, slot in body(bytes, { self.inbound.address(slot) }) }
            flush()
            if n < inbound.capacity { break }
        }
    }

    /// Seals `plaintext` on `link` straight into the outgoing batch for `destination`.
    /// Returns the link's action; `.send(n)` means n bytes were queued.
    @discardableResult
    public func seal(_ plaintext: UnsafeRawBufferPointer, on link: SecureLink, to destination: SocketAddress, now: Nanoseconds) -> LinkAction {
        let room = space(max(plaintext.count + 48, WireMessage.initiationLength), to: destination)
        let action = link.seal(plaintext, into: room, now: now)
        if case .send(let n) = action { outbound.commit(n, to: destination) }
        return action
    }

    /// Queues whatever `link` wants sent (data held during a handshake, timer messages).
    public func drain(_ link: SecureLink, to destination: SocketAddress, now: Nanoseconds) {
        for _ in 0..<64 {
            let room = space(Self.timerRoom, to: destination)
            guard case .send(let n) = link.poll(into: room, now: now) else { return }
            outbound.commit(n, to: destination)
        }
    }

    /// Queues a copy of `bytes` (a handshake message already built) for `destination`.
    public func enqueue(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) {
        let to = socket.adapt(destination)
        space(bytes.count, to: to).copyMemory(from: bytes)
        outbound.commit(bytes.count, to: to)
    }

    /// Sends the outgoing batch.
    public func flush() {
        guard outbound.count > 0 else { return }
        socket.send(outbound)
    }

    /// Room in the outgoing batch, flushing it first if it is full.
    @inline(__always)
    private func space(_ maximum: Int, to destination: SocketAddress) -> UnsafeMutableRawBufferPointer {
        if let room = outbound.reserve(maximum: maximum, to: destination) { return room }
        flush()
        return outbound.reserve(maximum: maximum, to: destination)!
    }
}
