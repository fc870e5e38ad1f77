import Testing
import LanyardCore
import LanyardLinux
import Logging
import LanyardWireGuard
@testable import LanyardNode

/// Sealing and opening on several threads agrees with one thread, in order: what one seals the
/// other opens, counters run in order, every plaintext comes back, a forgery or a replay inside a
/// batch is refused alone.
@Suite struct ParallelCryptoTests {
    /// Two peers with an established session (A initiated).
    static func connectedPeers() -> (WireGuardPeer, WireGuardPeer) {
        let aKey = PrivateKey(), bKey = PrivateKey()
        let clock: @Sendable () -> WallClockTime = { WallClockTime(seconds: 1_700_000_000, nanoseconds: 0) }
        let a = WireGuardPeer(localPrivate: aKey, peerPublic: bKey.publicKey, presharedKey: nil,
                              indexAllocator: IndexAllocator(), wallClock: clock)
        let b = WireGuardPeer(localPrivate: bKey, peerPublic: aKey.publicKey, presharedKey: nil,
                              indexAllocator: IndexAllocator(), wallClock: clock)
        var out = [UInt8](repeating: 0, count: 2_048)
        let now = Timestamp(nanoseconds: 1_000_000_000)
        func step(_ peer: WireGuardPeer, _ bytes: [UInt8]) -> [UInt8] {
            let r = bytes.withUnsafeBytes { d in out.withUnsafeMutableBytes { peer.decapsulate(datagram: d, into: $0, now: now) } }
            guard case .writeToNetwork(let n) = r else { return [] }
            return Array(out[0..<n])
        }
        let hello = [UInt8](repeating: 0x45, count: 20)
        let r = hello.withUnsafeBytes { p in out.withUnsafeMutableBytes { a.encapsulate(plaintext: p, into: $0, now: now) } }
        guard case .writeToNetwork(let n) = r else { fatalError("no initiation") }
        let confirmation = step(a, step(b, Array(out[0..<n])))
        _ = step(b, confirmation)
        return (a, b)
    }

    static let packets = (0..<600).map { i in (0..<(40 + i * 7 % 1_400)).map { UInt8(truncatingIfNeeded: $0 &+ i) } }

    /// A seals every packet into its own slot of one buffer (queued when `workers` is given).
    static func sealAll(_ a: WireGuardPeer, workers: CryptoWorkers?) -> [[UInt8]] {
        let slot = 1_500
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: slot * packets.count, alignment: 64)
        defer { buffer.deallocate() }
        let queue = CryptoQueue()
        let now = Timestamp(nanoseconds: 2_000_000_000)
        var lengths: [Int] = []
        for (i, p) in packets.enumerated() {
            let out = UnsafeMutableRawBufferPointer(rebasing: buffer[(i * slot)..<((i + 1) * slot)])
            let r = p.withUnsafeBytes { a.encapsulate(plaintext: $0, into: out, now: now, deferringTo: workers == nil ? nil : queue) }
            guard case .writeToNetwork(let n) = r else { return [] }
            lengths.append(n)
        }
        if let workers { workers.run(queue); queue.removeAll() }
        return lengths.enumerated().map { i, n in Array(buffer[(i * slot)..<(i * slot + n)]) }
    }

    /// B opens `datagrams` as one batch, in two halves, with `workers`; the results in order.
    static func openAll(_ b: WireGuardPeer, _ datagrams: [[UInt8]], workers: CryptoWorkers) -> [PeerResult] {
        let slot = 1_600
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: slot * datagrams.count, alignment: 64)
        defer { buffer.deallocate() }
        let queue = CryptoQueue()
        let now = Timestamp(nanoseconds: 3_000_000_000)
        var steps: [OpenStep] = []
        for (i, d) in datagrams.enumerated() {
            let region = UnsafeMutableRawBufferPointer(rebasing: buffer[(i * slot)..<(i * slot + d.count)])
            region.copyBytes(from: d)
            let body = UnsafeMutableRawBufferPointer(rebasing: region[16...]) // decrypted in place
            steps.append(b.beginOpen(datagram: UnsafeRawBufferPointer(region), into: body, now: now, queue: queue))
        }
        workers.run(queue)
        let results = steps.map { step -> PeerResult in
            switch step {
            case .queued(let pending): b.finishOpen(pending, queue: queue, now: now)
            case .done(let result): result
            }
        }
        queue.removeAll()
        return results
    }

    @Test func parallelAndSerialSealsAndOpensAgree() {
        let workers = CryptoWorkers(threads: 4)
        defer { workers.stop() }
        #expect(workers.threads == 4)
        // Sealed on 4 threads, opened one by one as a single-threaded peer does: counters 1, 2, …
        // in order (0 carried the handshake's confirmation), every plaintext back.
        let (a, b) = Self.connectedPeers()
        let parallel = Self.sealAll(a, workers: workers)
        #expect(parallel.count == Self.packets.count)
        var out = [UInt8](repeating: 0, count: 2_048)
        for (i, d) in parallel.enumerated() {
            let counter = d[8..<16].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            #expect(counter == UInt64(i + 1))
            let r = d.withUnsafeBytes { p in out.withUnsafeMutableBytes { b.decapsulate(datagram: p, into: $0, now: Timestamp(nanoseconds: 3_000_000_000)) } }
            #expect(r == .writeToTunnel(MessageLayout.paddedCount(Self.packets[i].count)))
            #expect(Array(out[0..<Self.packets[i].count]) == Self.packets[i])
        }
        // Sealed one by one, opened as one parallel batch with a datagram replayed inside it.
        let (a2, b2) = Self.connectedPeers()
        let serial = Self.sealAll(a2, workers: nil)
        let results = Self.openAll(b2, serial + [serial[10]], workers: workers)
        for (i, p) in Self.packets.enumerated() {
            #expect(results[i] == .writeToTunnel(MessageLayout.paddedCount(p.count)))
        }
        #expect(results.last == .error(.replay))
    }

    @Test func openedPlaintextsComeBackInOrder() {
        let workers = CryptoWorkers(threads: 3)
        defer { workers.stop() }
        let (a, b) = Self.connectedPeers()
        let sealed = Self.sealAll(a, workers: workers)
        // Tamper with one: it alone is refused; its neighbours still open.
        var batch = sealed
        batch[100][40] ^= 1
        let slot = 1_600
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: slot * batch.count, alignment: 64)
        defer { buffer.deallocate() }
        let queue = CryptoQueue()
        let now = Timestamp(nanoseconds: 3_000_000_000)
        var pending: [(PendingOpen, Int)] = []
        for (i, d) in batch.enumerated() {
            let region = UnsafeMutableRawBufferPointer(rebasing: buffer[(i * slot)..<(i * slot + d.count)])
            region.copyBytes(from: d)
            if case .queued(let p) = b.beginOpen(datagram: UnsafeRawBufferPointer(region),
                                                 into: UnsafeMutableRawBufferPointer(rebasing: region[16...]), now: now, queue: queue) {
                pending.append((p, i))
            }
        }
        #expect(pending.count == batch.count)
        workers.run(queue)
        var delivered = 0, refused: [Int] = []
        for (p, i) in pending {
            switch b.finishOpen(p, queue: queue, now: now) {
            case .writeToTunnel:
                let plain = Array(buffer[(i * slot + 16)..<(i * slot + 16 + Self.packets[i].count)])
                #expect(plain == Self.packets[i])
                delivered += 1
            default: refused.append(i)
            }
        }
        #expect(delivered == batch.count - 1)
        #expect(refused == [100])
    }

    /// The outgoing batch moves a datagram longer than the run it was to join into a slot of its
    /// own: its queued encryption must move with it. (Before this was handled, the moved copy
    /// went out in clear.) Every datagram in the batch must open at the peer.
    @Test func aDatagramMovedByTheBatchIsStillEncrypted() throws {
        let workers = CryptoWorkers(threads: 2)
        defer { workers.stop() }
        let (a, b) = Self.connectedPeers()
        // Bound but never read or sent from: the batch is inspected in memory.
        let io = BatchedSocket(try UDPSocket(bindTo: SocketAddress.resolve("127.0.0.1:0", passive: true)))
        io.useCryptoWorkers(workers)
        let stage = try #require(io.parallelSeals)
        let link = WireGuardLink(peer: a)
        let destination = try SocketAddress.resolve("192.0.2.5:51820")
        let now: Nanoseconds = 2_000_000_000
        // Short, short (a run of two), then longer ones (each moves to a slot of its own), then short.
        let sizes = [60, 60, 1_000, 1_200, 60, 1_200, 1_200, 20]
        for (i, size) in sizes.enumerated() {
            let plaintext = [UInt8](repeating: UInt8(i + 1), count: size)
            let action = plaintext.withUnsafeBytes { io.seal($0, on: link, to: destination, now: now) }
            #expect(action == .send(MessageLayout.transportSize(plaintextCount: size)))
        }
        #expect(stage.queue.count == sizes.count)
        #expect(stage.run() == 0)   // no seal failed
        var opened: [Int] = []
        var out = [UInt8](repeating: 0, count: 2_048)
        io.pendingOutbound.forEachDatagram(oversized: { Issue.record("oversized") }) { bytes, _ in
            let result = out.withUnsafeMutableBytes { b.decapsulate(datagram: bytes, into: $0, now: Timestamp(nanoseconds: now)) }
            guard case .writeToTunnel = result else { Issue.record("datagram \(opened.count) did not open: \(result)"); return }
            opened.append(Int(out[0]))
        }
        #expect(opened == Array(1...sizes.count))
    }

    @Test func rangesCoverEveryJobOnce() {
        for count in [0, 1, 7, 64, 1_000] {
            for parts in 1...8 {
                let covered = (0..<parts).flatMap { Array(CryptoWorkers.range($0, of: parts, count: count)) }
                #expect(covered == Array(0..<count))
            }
        }
    }
}
