import LanyardCore
import LanyardLinux
import LanyardWireGuard

/// A UDP socket with its receive and send batches: the datagram I/O every node does, in one place.
/// Receiving splits GRO-coalesced slots; sending seals straight into the outgoing batch (no copy)
/// and lets the batch coalesce for UDP GSO. A datagram for the relay gets its header written in
/// front of the sealed bytes in the same buffer.
public final class BatchedSocket {
    public let socket: UDPSocket
    private let inbound = DatagramBatch(capacity: 64)
    private let outbound = DatagramBatch(capacity: 64)
    /// Room reserved for what a link's timers may write (keepalive, initiation, a queued packet).
    /// A packet queued during a handshake is as large as the interface's MTU allows (34,736 at
    /// the jumbo MTU WireGuard's tests use, up to 64 KB): with less room its sealing failed and
    /// it was lost, so this is a whole slot.
    static let timerRoom = 65_536

    /// How well receives and sends are batched (for metrics): calls made and datagrams moved.
    public private(set) var batching = BatchCounters()

    /// With crypto threads (`useCryptoWorkers`), data messages are sealed straight into the
    /// outgoing batch as usual but their encryption is queued and run on the workers just
    /// before the batch is sent.
    private(set) var parallelSeals: ParallelSeals?

    /// Queues the encryption of what `seal` writes and runs it on `workers` before each send.
    /// Once only: replacing the queue while a batch waits would send its queued datagrams in clear,
    /// so a second call (a new hub on the same socket) keeps the first.
    func useCryptoWorkers(_ workers: CryptoWorkers) {
        guard parallelSeals == nil else { return }
        parallelSeals = ParallelSeals(workers: workers)
    }

    public init(_ socket: UDPSocket) { self.socket = socket }

    /// Receives everything waiting (up to 16 batches); `body` gets each datagram and a way to
    /// read its sender. The outgoing batch is flushed after each batch received.
    /// `batchDone` runs after the last datagram of each batch, before the flush.
    public func receiveAll(oversized: () -> Void, batchDone: () -> Void = {},
                           _ body: (UnsafeRawBufferPointer, () -> SocketAddress) -> Void) throws(SystemError) {
        for _ in 0..<16 {
            let n = try socket.receive(into: inbound)
            if n == 0 { break }
            batching.receiveCalls &+= 1
            batching.receivedDatagrams &+= UInt64(n)
            inbound.forEachDatagram(oversized: oversized) { bytes, slot in body(bytes, { self.inbound.address(slot) }) }
            batchDone()
            flush()
            if n < inbound.capacity { break }
        }
    }

    /// Seals `plaintext` on `link` straight into the outgoing batch for `destination`.
    /// Returns the link's action; `.send(n)` means n bytes were queued.
    @discardableResult
    func seal(_ plaintext: UnsafeRawBufferPointer, on link: SecureLink, to destination: SocketAddress,
              relay: RelayWrap? = nil, now: Nanoseconds) -> LinkAction {
        let h = relay == nil ? 0 : RelayHeader.length
        let room = space(max(plaintext.count + 48, WireMessage.initiationLength) + h, to: destination)
        let out = UnsafeMutableRawBufferPointer(rebasing: room[h...])
        guard let queue = parallelSeals?.queue else {
            let action = link.seal(plaintext, into: out, now: now)
            if case .send(let n) = action { commit(room, n + h, relay: relay, to: destination) }
            return action
        }
        let queued = queue.count
        let action = link.seal(plaintext, into: out, now: now, deferringTo: queue)
        guard case .send(let n) = action else { return action }
        let at = commit(room, n + h, relay: relay, to: destination)
        // The batch may have moved the datagram to a slot of its own (longer than the run it was
        // to join): its queued encryption must follow it, or the old place would be encrypted and
        // the new one sent in clear. A dropped datagram's encryption is cancelled.
        if queue.count > queued {
            if let at { queue.moveLastJob(by: at - room.baseAddress!) } else { queue.cancelLastJob() }
        }
        return action
    }

    /// Seals on a single-peer link (port, tunnel, client).
    @discardableResult
    public func seal(_ plaintext: UnsafeRawBufferPointer, on link: SecureLink, to destination: SocketAddress, now: Nanoseconds) -> LinkAction {
        seal(plaintext, on: link, to: destination, relay: nil, now: now)
    }

    /// Queues whatever `link` wants sent (data held during a handshake, timer messages).
    func drain(_ link: SecureLink, to destination: SocketAddress, relay: RelayWrap? = nil, now: Nanoseconds) {
        let h = relay == nil ? 0 : RelayHeader.length
        for _ in 0..<64 {
            let room = space(Self.timerRoom + h, to: destination)
            guard case .send(let n) = link.poll(into: UnsafeMutableRawBufferPointer(rebasing: room[h...]), now: now) else { return }
            commit(room, n + h, relay: relay, to: destination)
        }
    }

    /// Queues whatever a single-peer link wants sent.
    public func drain(_ link: SecureLink, to destination: SocketAddress, now: Nanoseconds) {
        drain(link, to: destination, relay: nil, now: now)
    }

    /// Queues a copy of `bytes` (a handshake message already built) for `destination`.
    public func enqueue(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) {
        enqueue(bytes, to: destination, relay: nil)
    }

    func enqueue(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress, relay: RelayWrap?) {
        let to = socket.adapt(destination)
        let h = relay == nil ? 0 : RelayHeader.length
        let room = space(bytes.count + h, to: to)
        UnsafeMutableRawBufferPointer(rebasing: room[h...]).copyMemory(from: bytes)
        commit(room, bytes.count + h, relay: relay, to: to)
    }

    /// Queues a copy of a relayed datagram for its destination, letting `patch` rewrite the copy's
    /// header (the switch puts the origin's id where the destination's was).
    func forward(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress, patch: (UnsafeMutableRawBufferPointer) -> Void) {
        let room = UnsafeMutableRawBufferPointer(rebasing: space(bytes.count, to: destination)[0..<bytes.count])
        room.copyMemory(from: bytes)
        patch(room)
        outbound.commit(bytes.count, to: destination)
    }

    /// Sends the outgoing batch.
    public func flush() {
        guard outbound.count > 0 else { return }
        if let parallelSeals { batching.failedSeals &+= UInt64(parallelSeals.run()) }
        batching.sendCalls &+= 1
        batching.sentDatagrams &+= UInt64(outbound.count)
        let losses = socket.send(outbound)
        batching.unsentDatagrams &+= UInt64(losses.unsent)
        batching.refusedDatagrams &+= UInt64(losses.refused)
    }

    @inline(__always) @discardableResult
    private func commit(_ room: UnsafeMutableRawBufferPointer, _ n: Int, relay: RelayWrap?,
                        to destination: SocketAddress) -> UnsafeMutableRawPointer? {
        if let relay { relay.sender.wrap(room, member: relay.member) }
        return outbound.commit(n, to: destination)
    }

    /// The outgoing batch as it stands (for tests).
    var pendingOutbound: DatagramBatch { outbound }

    /// Room in the outgoing batch, flushing it first if it is full.
    @inline(__always)
    private func space(_ maximum: Int, to destination: SocketAddress) -> UnsafeMutableRawBufferPointer {
        if let room = outbound.reserve(maximum: maximum, to: destination) { return room }
        flush()
        return outbound.reserve(maximum: maximum, to: destination)!
    }
}
