import Testing
@testable import LanyardCore

let a = MACAddress("02:00:00:00:00:0a")!
let b = MACAddress("02:00:00:00:00:0b")!
let c = MACAddress("02:00:00:00:00:0c")!
let s = Nanoseconds.seconds(1)

@Suite struct MACTableTests {
    @Test func learnsAndRefreshes() {
        var t = MACTable()
        #expect(t.learn(a, on: 1, now: 0) == .learned)
        #expect(t.learn(a, on: 1, now: s) == .refreshed)
        #expect(t.port(of: a, now: 2 * s) == 1)
        #expect(t.port(of: b, now: 2 * s) == nil)
        #expect(t.count == 1 && t.count(of: 1) == 1)
    }

    /// A pin moved from one member to another: the old owner's learned entry goes at once, and
    /// the MAC is learned only on the new owner's port from then on.
    @Test func forgettingAMovedPinLetsOnlyTheNewOwnerLearnIt() {
        var t = MACTable()
        t.pin(a, to: 1)
        #expect(t.learn(a, on: 1, now: 0) == .learned)
        t.unpinAll(of: 1)
        t.forget(a)
        t.pin(a, to: 2)
        #expect(t.port(of: a, now: s) == nil)
        #expect(t.count(of: 1) == 0)
        #expect(t.learn(a, on: 1, now: s) != .learned)
        #expect(t.learn(a, on: 2, now: s) == .learned)
        #expect(t.port(of: a, now: s) == 2)
    }

    @Test func agesOut() {
        var t = MACTable(configuration: .init(agingTime: 300 * s))
        _ = t.learn(a, on: 1, now: 0)
        #expect(t.port(of: a, now: 299 * s) == 1)
        #expect(t.port(of: a, now: 300 * s) == nil)
        #expect(t.expire(now: 299 * s) == 0)
        #expect(t.expire(now: 301 * s) == 1)
        #expect(t.count == 0 && t.count(of: 1) == 0)
    }

    @Test func movesOnlyAfterHoldTime() {
        var t = MACTable(configuration: .init(moveHoldTime: 10 * s))
        _ = t.learn(a, on: 1, now: 0)
        #expect(t.learn(a, on: 2, now: 5 * s) == .refused(.heldByLivePort))
        #expect(t.port(of: a, now: 5 * s) == 1)
        #expect(t.learn(a, on: 2, now: 11 * s) == .moved(from: 1))
        #expect(t.port(of: a, now: 11 * s) == 2)
        #expect(t.count(of: 1) == 0 && t.count(of: 2) == 1)
    }

    @Test func pinnedMACNeverMoves() {
        var t = MACTable()
        t.pin(a, to: 1)
        #expect(t.learn(a, on: 2, now: 0) == .refused(.pinnedToOtherPort))
        #expect(t.learn(a, on: 1, now: 0) == .learned)
        #expect(t.learn(a, on: 2, now: 1000 * s) == .refused(.pinnedToOtherPort))
    }

    @Test func capsPerPortAndTotal() {
        var t = MACTable(configuration: .init(maxMACsPerPort: 2, maxEntries: 3))
        #expect(t.learn(a, on: 1, now: 0) == .learned)
        #expect(t.learn(b, on: 1, now: 0) == .learned)
        #expect(t.learn(c, on: 1, now: 0) == .refused(.portCapReached))
        #expect(t.learn(c, on: 2, now: 0) == .learned)
        #expect(t.learn(MACAddress(rawValue: 0x0200_0000_00FF), on: 3, now: 0) == .refused(.tableFull))
    }

    @Test func removePortForgetsItsMACs() {
        var t = MACTable()
        _ = t.learn(a, on: 1, now: 0)
        _ = t.learn(b, on: 2, now: 0)
        t.removePort(1)
        #expect(t.port(of: a, now: 0) == nil)
        #expect(t.port(of: b, now: 0) == 2)
        #expect(t.learn(a, on: 2, now: 0) == .learned)
    }
}

@Suite struct SwitchFabricTests {
    func decide(_ f: inout SwitchFabric, _ bytes: [UInt8], from port: PortID, at now: Nanoseconds = 0) -> ForwardingDecision {
        bytes.withUnsafeBytes { f.decide(frame: $0, ingress: port, now: now) }
    }

    @Test func unknownUnicastFloodsThenKnownUnicastGoesToOnePort() {
        var f = SwitchFabric()
        #expect(decide(&f, frame(dst: b.description, src: a.description), from: 1) == .flood)
        #expect(decide(&f, frame(dst: a.description, src: b.description), from: 2) == .unicast(1))
        #expect(decide(&f, frame(dst: b.description, src: a.description), from: 1) == .unicast(2))
    }

    @Test func broadcastAndMulticastFlood() {
        var f = SwitchFabric()
        _ = decide(&f, frame(dst: a.description, src: b.description), from: 2)
        #expect(decide(&f, frame(dst: "ff:ff:ff:ff:ff:ff", src: a.description), from: 1) == .flood)
        #expect(decide(&f, frame(dst: "33:33:ff:00:00:0b", src: a.description), from: 1) == .flood)
    }

    @Test func neverBackOutOfIngressPort() {
        var f = SwitchFabric()
        _ = decide(&f, frame(dst: "ff:ff:ff:ff:ff:ff", src: b.description), from: 1)
        #expect(decide(&f, frame(dst: b.description, src: a.description), from: 1) == .drop(.sameIngressPort))
        #expect(f.drops[.sameIngressPort] == 1)
    }

    @Test func invalidSourcesAndBadFramesAreCounted() {
        var f = SwitchFabric()
        #expect(decide(&f, frame(dst: a.description, src: "ff:ff:ff:ff:ff:ff"), from: 1) == .drop(.invalidSourceMAC))
        #expect(decide(&f, frame(dst: a.description, src: "00:00:00:00:00:00"), from: 1) == .drop(.invalidSourceMAC))
        #expect(decide(&f, [1, 2, 3], from: 1) == .drop(.runt))
        #expect(f.drops.total == 3)
        #expect(f.table.count == 0)
    }

    @Test func hijackOfLivePortMACIsRefused() {
        var f = SwitchFabric()
        _ = decide(&f, frame(dst: "ff:ff:ff:ff:ff:ff", src: b.description), from: 2)
        #expect(decide(&f, frame(dst: a.description, src: b.description), from: 3, at: s) == .drop(.macHeldByLivePort))
        #expect(decide(&f, frame(dst: b.description, src: a.description), from: 1, at: s) == .unicast(2))
    }
}

@Suite struct MACTableAgingCostTests {
    @Test func expireLooksOnlyAtWhatIsDue() {
        let s = Nanoseconds.seconds(1)
        var table = MACTable(configuration: .init(agingTime: 300 * s, maxMACsPerPort: 20_000, maxEntries: 20_000))
        let macs = (0..<10_000).map { MACAddress(rawValue: 0x0200_0000_0000 | UInt64($0)) }
        for m in macs { _ = table.learn(m, on: 1, now: 0) }
        // Nothing is due: a call costs nothing, whatever the table size.
        let removed1 = table.expire(now: 1 * s)

        #expect(removed1 == 0)
        #expect(table.examinedByLastExpire == 0)
        // Half are refreshed; at their first deadline only the others go.
        for m in macs.prefix(5_000) { _ = table.learn(m, on: 1, now: 200 * s) }
        let removed2 = table.expire(now: 300 * s)

        #expect(removed2 == 5_000)
        #expect(table.examinedByLastExpire == 10_000)
        #expect(table.count == 5_000)
        let removed3 = table.expire(now: 301 * s)

        #expect(removed3 == 0)
        #expect(table.examinedByLastExpire == 0)
        let removed4 = table.expire(now: 500 * s)

        #expect(removed4 == 5_000)
        #expect(table.count == 0)
    }
}

@Suite struct MACTableChurnTests {
    /// Security review (issue 19): a port that comes up, sends one frame from a new MAC and says
    /// `bye`, over and over, must not queue an aging deadline per cycle: the deadlines stay within
    /// twice the table's cap, however many cycles.
    @Test func portsThatComeAndGoCannotGrowTheAgingQueue() {
        let s = Nanoseconds.seconds(1)
        var table = MACTable(configuration: .init(agingTime: 300 * s, maxMACsPerPort: 64, maxEntries: 1_000))
        // Other ports hold some MACs that must survive it all.
        for i in 0..<50 { _ = table.learn(MACAddress(rawValue: 0x0200_0001_0000 | UInt64(i)), on: 2, now: 0) }
        for i in 0..<200_000 {
            _ = table.learn(MACAddress(rawValue: 0x0200_0000_0000 | UInt64(i)), on: 1, now: UInt64(i))
            table.removePort(1)
        }
        #expect(table.count == 50)
        #expect(table.count(of: 1) == 0 && table.count(of: 2) == 50)
        // Everything is due at once: expire looks at every deadline queued.
        let removed = table.expire(now: 1_000 * s)
        #expect(removed == 50)
        #expect(table.examinedByLastExpire <= 2 * 1_000 + 1)
        #expect(table.count == 0)
    }

    /// Removing a port leaves the others' entries, counts and aging exactly as they were.
    @Test func removingAPortKeepsEveryOtherPortsEntries() {
        var t = MACTable(configuration: .init(agingTime: 300 * s, maxEntries: 10))
        _ = t.learn(a, on: 1, now: 0)
        _ = t.learn(b, on: 2, now: 0)
        _ = t.learn(c, on: 2, now: 0)
        for i in 0..<50 { // enough churn on port 3 to rebuild the aging queue several times
            _ = t.learn(MACAddress(rawValue: 0x0200_0000_1000 | UInt64(i)), on: 3, now: s)
            t.removePort(3)
        }
        #expect(t.count == 3 && t.count(of: 2) == 2)
        #expect(Set(t.macs(of: 2, now: s)) == [b, c])
        #expect(t.learn(b, on: 2, now: 200 * s) == .refreshed)
        #expect(t.expire(now: 300 * s) == 2) // a and c; b was refreshed
        #expect(t.port(of: b, now: 300 * s) == 2)
        #expect(t.expire(now: 500 * s) == 1)
        #expect(t.count == 0)
    }
}
