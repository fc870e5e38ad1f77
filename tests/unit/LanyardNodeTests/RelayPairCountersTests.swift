import LanyardCore
import Testing
@testable import LanyardNode

@Suite struct RelayPairCountersTests {
    let s = Nanoseconds.seconds(1)

    /// Security review (issue 19): a removed member's relayed traffic is not credited to the next
    /// member in its slot, stale pairs are pruned, and the totals (metrics' counters) never go down.
    @Test func pairsGoWithTheirMembersAndWithDisuse() {
        var r = RelayPairCounters()
        r.record(from: 1, to: 2, bytes: 100, now: 0)
        r.record(from: 2, to: 1, bytes: 50, now: 0)
        r.record(from: 3, to: 4, bytes: 10, now: 0)
        #expect(r.pairs.count == 3)
        r.forget(1)   // member 1 removed; slot 1 may go to someone else
        #expect(r.pairs.count == 1)
        r.record(from: 1, to: 2, bytes: 7, now: s)
        #expect(r.pairs[UInt64(1) << 32 | 2]?.traffic.txBytes == 7)
        #expect(r.pairs[UInt64(1) << 32 | 2]?.traffic.txPackets == 1)
        #expect(r.total.txPackets == 4 && r.total.txBytes == 167)
        r.prune(now: 300 * s)
        #expect(r.pairs.count == 2)
        r.record(from: 3, to: 4, bytes: 1, now: 500 * s)
        r.prune(now: 700 * s)     // 1→2 unused for 699 s: gone; 3→4 used 200 s ago: kept
        #expect(Array(r.pairs.keys) == [UInt64(3) << 32 | 4])
        #expect(r.total.txPackets == 5)
    }
}
