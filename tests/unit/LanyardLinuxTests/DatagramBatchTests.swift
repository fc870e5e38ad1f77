import Glibc
import Testing
@testable import LanyardLinux

@Suite struct DatagramBatchTests {
    let here = try! SocketAddress.resolve("127.0.0.1:9")
    let there = try! SocketAddress.resolve("127.0.0.1:10")

    func put(_ batch: DatagramBatch, _ length: Int, to d: SocketAddress, fill: UInt8 = 1) {
        let room = batch.reserve(maximum: length + 100, to: d)!
        for i in 0..<length { room[i] = fill }
        batch.commit(length, to: d)
    }

    @Test func coalescesEqualDatagramsForOneDestination() {
        let b = DatagramBatch(capacity: 4)
        for _ in 0..<5 { put(b, 100, to: here) }
        put(b, 60, to: here)          // shorter: ends the run
        put(b, 100, to: here)         // new slot
        put(b, 100, to: there)        // other destination: new slot
        #expect(b.count == 3)
        #expect(b.slots[0].length == 560 && b.slots[0].segment == 100)
        #expect(b.slots[1].length == 100 && b.slots[2].length == 100)
    }

    @Test func longerDatagramMovesToItsOwnSlot() {
        let b = DatagramBatch(capacity: 4)
        put(b, 100, to: here)
        put(b, 150, to: here, fill: 7)
        #expect(b.count == 2)
        #expect(b.slots[0].length == 100)
        #expect(b.slots[1].length == 150 && b.slots[1].buffer!.load(fromByteOffset: 149, as: UInt8.self) == 7)
    }

    /// A full batch must not offer the tail of its last slot: a longer datagram written there
    /// would need a slot of its own and be lost.
    @Test func aFullBatchLosesNothing() {
        let b = DatagramBatch(capacity: 2)
        put(b, 100, to: here)
        put(b, 100, to: there)
        #expect(b.count == 2)
        // Full: no room is offered (the caller flushes first), so nothing can be lost.
        #expect(b.reserve(maximum: 300, to: there) == nil)
        #expect(b.dropped == 0)
    }

    /// The kernel refuses (EMSGSIZE) a GSO send whose segments exceed the path MTU, e.g. a
    /// 34,768-byte datagram of a jumbo tunnel MTU followed by the shorter tail of its TCP
    /// super-packet. Once refused, such datagrams go alone (to be fragmented); small ones still
    /// coalesce.
    @Test func refusedSegmentSizeNoLongerLeadsARun() {
        let b = DatagramBatch(capacity: 8)
        put(b, 34_768, to: here)
        put(b, 132, to: here)
        #expect(b.count == 1 && b.slots[0].length == 34_900) // coalesced: what the kernel refused
        b.reset()
        b.refuseSegments(of: 34_768)
        #expect(b.coalescing && b.largestSegment == 34_767)
        put(b, 34_768, to: here)
        put(b, 132, to: here)
        put(b, 1_400, to: there)
        put(b, 1_400, to: there)
        #expect(b.count == 3)
        #expect(b.slots[0].length == 34_768 && b.slots[1].length == 132 && b.slots[2].length == 2_800)
    }

    @Test func aRefusedSmallSegmentTurnsCoalescingOff() {
        let b = DatagramBatch(capacity: 4)
        b.refuseSegments(of: 1_200)
        #expect(!b.coalescing)
        put(b, 100, to: here)
        put(b, 100, to: here)
        #expect(b.count == 2)
    }

    @Test func capsSegmentsPerSend() {
        let b = DatagramBatch(capacity: 4)
        for _ in 0..<(DatagramBatch.maximumSegments + 1) { put(b, 32, to: here) }
        #expect(b.count == 2)
        #expect(b.slots[0].length == 32 * DatagramBatch.maximumSegments)
    }

    /// Over loopback: a coalesced send arrives as separate datagrams of the right sizes, whether
    /// or not the receiving socket coalesces them again (GRO).
    @Test func gsoSendAndGROReceiveOverLoopback() throws {
        let receiver = try UDPSocket(bindTo: try SocketAddress.resolve("127.0.0.1:0", passive: true))
        let sender = try UDPSocket(bindTo: try SocketAddress.resolve("127.0.0.1:0", passive: true))
        let out = DatagramBatch(capacity: 8)
        for i in 0..<10 { put(out, 1200, to: receiver.localAddress, fill: UInt8(i)) }
        put(out, 300, to: receiver.localAddress, fill: 99)
        sender.send(out)
        #expect(out.count == 0)
        let inbound = DatagramBatch(capacity: 16)
        var sizes: [Int] = []
        var firstBytes: [UInt8] = []
        for _ in 0..<50 where sizes.count < 11 {
            usleep(2000)
            if try receiver.receive(into: inbound) > 0 {
                inbound.forEachDatagram(oversized: {}) { d, _ in sizes.append(d.count); firstBytes.append(d[0]) }
            }
        }
        #expect(sizes == Array(repeating: 1200, count: 10) + [300])
        #expect(firstBytes == Array(0..<10) + [99])
    }
}
