import Testing
@testable import LanyardWireGuard

@Suite struct SimultaneousHandshakeTests {
    /// Both ends initiate at once (two gateways started together): each answers the other's
    /// initiation and completes its own, and data must then flow both ways at once, not only
    /// after a later rekey.
    @Test func bothInitiateThenDataFlowsBothWays() {
        let p = Pair()
        let (ra, initA) = p.send(p.a, Array("from a".utf8))
        let (rb, initB) = p.send(p.b, Array("from b".utf8))
        #expect(ra == .writeToNetwork(148) && rb == .writeToNetwork(148))
        let (_, respToA) = p.receive(p.b, initA)   // b answers a's initiation (b: next)
        let (_, respToB) = p.receive(p.a, initB)   // a answers b's initiation (a: next)
        let (r1, dataFromA) = p.receive(p.a, respToA) // a completes its own: sends its queued packet
        let (r2, dataFromB) = p.receive(p.b, respToB)
        #expect(r1 == .writeToNetwork(MessageLayout.transportSize(plaintextCount: 6)))
        #expect(r2 == .writeToNetwork(MessageLayout.transportSize(plaintextCount: 6)))
        let (d1, plainAtB) = p.receive(p.b, dataFromA)
        let (d2, plainAtA) = p.receive(p.a, dataFromB)
        #expect(d1 == .writeToTunnel(16) && Array(plainAtB.prefix(6)) == Array("from a".utf8))
        #expect(d2 == .writeToTunnel(16) && Array(plainAtA.prefix(6)) == Array("from b".utf8))
        #expect(p.a.refusals.wrongIndex == 0 && p.b.refusals.wrongIndex == 0)
    }
}
