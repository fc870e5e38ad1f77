import Testing
@testable import LanyardWireGuard

/// The index table holds its peers unowned (`IndexAllocator`): that is sound only if every entry
/// goes with its peer and a long session does not pile entries up.
@Suite struct IndexAllocatorTests {
    @Test func entriesStayBoundedOverManyHandshakesAndGoWithTheirPeers() {
        var pair: Pair? = Pair()
        let allocatorA = pair!.a.allocator, allocatorB = pair!.b.allocator
        _ = pair!.handshake(first: [1])
        var completed = 0
        for round in 0..<30 {
            let p = pair!
            p.clock.advance(6) // past the handshake retry interval
            var buffer = [UInt8](repeating: 0, count: 256)
            guard case .writeToNetwork(let n) = buffer.withUnsafeMutableBytes({ p.a.initiateHandshake(into: $0, now: p.now) }) else { continue }
            let (_, response) = p.receive(p.b, Array(buffer[0..<n]))
            _ = p.receive(p.a, response)
            let (_, data) = p.send(p.a, [UInt8(round)]) // confirms the responder's new session
            if p.receive(p.b, data).0 == .writeToTunnel(16) { completed += 1 }
            #expect(allocatorA.count <= 4 && allocatorB.count <= 4, "round \(round): \(allocatorA.count), \(allocatorB.count)")
            #expect(p.a.ownedIndices.count == allocatorA.count && p.b.ownedIndices.count == allocatorB.count)
        }
        #expect(completed == 30)
        pair = nil
        #expect(allocatorA.count == 0 && allocatorB.count == 0)
    }
}
