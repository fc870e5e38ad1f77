import Testing
@testable import LanyardCore

/// Which member is where among several switches, and how each numbers it.
@Suite struct MeshRosterTests {
    @Test func anAnnouncementTranslatesBothWays() {
        var r = MeshRoster(lifetime: 35)
        let changed1 = r.announce(peer: 1, theirID: 40, slot: 7, registered: true, registeredAt: 100, now: 100)
        #expect(changed1)
        #expect(r.location(of: 7) == .init(peer: 1, theirID: 40, registeredAt: 100, expires: 135))
        #expect(r.ourSlot(peer: 1, theirID: 40) == 7)
        #expect(r.ourSlot(peer: 2, theirID: 40) == nil)
        #expect(r.location(of: 8) == nil)
        #expect(r.location(of: 1_000_000) == nil)
        #expect(r.count(at: 1) == 1)
    }

    @Test func theLaterRegistrationWinsAndAnOldClaimCannotTakeItBack() {
        var r = MeshRoster(lifetime: 35)
        r.announce(peer: 1, theirID: 4, slot: 7, registered: true, registeredAt: 100, now: 100)
        // The member moved to switch 2 at 150; switch 1, not yet aware, refreshes its old claim.
        let changed2 = r.announce(peer: 2, theirID: 9, slot: 7, registered: true, registeredAt: 150, now: 150)
        #expect(changed2)
        let changed3 = r.announce(peer: 1, theirID: 4, slot: 7, registered: true, registeredAt: 100, now: 152)
        #expect(!changed3)
        #expect(r.location(of: 7)?.peer == 2)
        #expect(r.ourSlot(peer: 1, theirID: 4) == nil)
        // Switch 1 withdrawing its entry does not touch switch 2's.
        let changed4 = r.announce(peer: 1, theirID: 4, slot: 7, registered: false, registeredAt: 0, now: 153)
        #expect(!changed4)
        #expect(r.location(of: 7)?.peer == 2)
        let changed5 = r.announce(peer: 2, theirID: 9, slot: 7, registered: false, registeredAt: 0, now: 154)
        #expect(changed5)
        #expect(r.location(of: 7) == nil)
        #expect(r.ourSlot(peer: 2, theirID: 9) == nil)
    }

    @Test func anEqualClaimDoesNotFlipAndAnUnknownIDForgetsWhatItNamed() {
        var r = MeshRoster(lifetime: 35)
        r.announce(peer: 1, theirID: 4, slot: 7, registered: true, registeredAt: 100, now: 100)
        let flipped = r.announce(peer: 2, theirID: 9, slot: 7, registered: true, registeredAt: 100, now: 101)
        #expect(!flipped && r.location(of: 7)?.peer == 1)
        // Switch 1 reused its id 4 for a member we do not know yet: 4 no longer names slot 7.
        r.unknown(peer: 1, theirID: 4)
        #expect(r.ourSlot(peer: 1, theirID: 4) == nil && r.location(of: 7) == nil)
        r.unknown(peer: 1, theirID: 99)   // nothing to forget: nothing happens
        // The oldest possible claim (learned from an introduction) never displaces a live one.
        r.announce(peer: 2, theirID: 9, slot: 7, registered: true, registeredAt: -50, now: 102)
        let displaced = r.announce(peer: 1, theirID: 4, slot: 7, registered: true, registeredAt: .min, now: 103)
        #expect(!displaced && r.location(of: 7)?.peer == 2)
    }

    @Test func anExpiredClaimGivesWayToAnOlderOne() {
        var r = MeshRoster(lifetime: 35)
        r.announce(peer: 2, theirID: 9, slot: 7, registered: true, registeredAt: 150, now: 150)
        let changed6 = r.announce(peer: 1, theirID: 4, slot: 7, registered: true, registeredAt: 100, now: 186)
        #expect(changed6)
        #expect(r.location(of: 7)?.peer == 1)
    }

    @Test func aReusedIDOfTheOtherSwitchNamesOnlyItsNewMember() {
        var r = MeshRoster(lifetime: 35)
        r.announce(peer: 1, theirID: 4, slot: 7, registered: true, registeredAt: 100, now: 100)
        r.announce(peer: 1, theirID: 4, slot: 8, registered: true, registeredAt: 120, now: 120)
        #expect(r.location(of: 7) == nil)
        #expect(r.location(of: 8)?.theirID == 4)
        #expect(r.ourSlot(peer: 1, theirID: 4) == 8)
        #expect(r.count(at: 1) == 1)
    }

    @Test func aSilentSwitchTakesItsMembersWithIt() {
        var r = MeshRoster(lifetime: 35)
        r.announce(peer: 1, theirID: 4, slot: 7, registered: true, registeredAt: 100, now: 100)
        r.announce(peer: 1, theirID: 5, slot: 3, registered: true, registeredAt: 100, now: 100)
        r.announce(peer: 2, theirID: 5, slot: 2, registered: true, registeredAt: 100, now: 100)
        r.dropPeer(1)
        #expect(r.location(of: 7) == nil && r.location(of: 3) == nil)
        #expect(r.ourSlot(peer: 1, theirID: 4) == nil)
        #expect(r.location(of: 2)?.peer == 2)
    }

    @Test func entriesLiveTheirLifetimeAndLocalRegistrationEndsThem() {
        var r = MeshRoster(lifetime: 35)
        r.announce(peer: 1, theirID: 4, slot: 7, registered: true, registeredAt: 100, now: 100)
        r.announce(peer: 1, theirID: 5, slot: 3, registered: true, registeredAt: 100, now: 120)
        r.expire(now: 140)
        #expect(r.location(of: 7) == nil && r.ourSlot(peer: 1, theirID: 4) == nil)
        #expect(r.location(of: 3) != nil)
        r.registeredLocally(3)
        #expect(r.location(of: 3) == nil && r.ourSlot(peer: 1, theirID: 5) == nil)
        r.announce(peer: 1, theirID: 5, slot: 3, registered: true, registeredAt: 100, now: 120)
        r.forget(3)
        #expect(r.location(of: 3) == nil && r.count(at: 1) == 0)
    }

    @Test func rosterUpdatesRoundTripAndRefuseEveryMalformedBody() throws {
        let key = (0..<32).map { UInt8($0) }
        let update = RosterUpdate((0..<40).map { .init(id: UInt32($0), registered: $0 % 2 == 0, ageSeconds: 7, publicKey: key) })
        #expect(update.entries.count == RosterUpdate.maximum)
        let bytes = update.bytes
        #expect(bytes.count == 2 + 30 * 41)
        #expect(try bytes.withUnsafeBytes { try RosterUpdate(parsing: $0) } == update)
        // Every truncation, a wrong count, a flag other than 0/1, a nonzero first byte.
        for n in 0..<bytes.count {
            #expect(throws: LanyardMessage.ParseError.badBody) { try Array(bytes[0..<n]).withUnsafeBytes { try RosterUpdate(parsing: $0) } }
        }
        var bad = bytes; bad[1] = 31
        #expect(throws: LanyardMessage.ParseError.badBody) { try bad.withUnsafeBytes { try RosterUpdate(parsing: $0) } }
        bad = bytes; bad[2 + 4] = 2
        #expect(throws: LanyardMessage.ParseError.badBody) { try bad.withUnsafeBytes { try RosterUpdate(parsing: $0) } }
        bad = bytes; bad[0] = 1
        #expect(throws: LanyardMessage.ParseError.badBody) { try bad.withUnsafeBytes { try RosterUpdate(parsing: $0) } }
        #expect(try [UInt8]([0, 0]).withUnsafeBytes { try RosterUpdate(parsing: $0) }.entries.isEmpty)
        // Random bodies never crash.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let junk = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? junk.withUnsafeBytes { try RosterUpdate(parsing: $0) }
        }
    }
}

/// Choosing the nearest of a port's switches.
@Suite struct NearestHubTests {
    let ms: Nanoseconds = 1_000_000

    @Test func theNearestWinsOnceTheWaitIsOver() {
        var p = NearestHub(count: 3, now: 0)
        #expect(p.choice(now: 100 * ms) == nil)
        p.answered(2, now: 10 * ms)
        #expect(p.choice(now: 25 * ms) == nil)          // still within the wait (20 ms)
        p.answered(0, now: 31 * ms)                      // farther than 20 ms more: not chosen
        #expect(p.choice(now: 30 * ms) == 2)
        #expect(p.choice(now: 50 * ms) == 2)
        #expect(p.roundTrip(2) == 10 * ms && p.roundTrip(1) == nil && p.roundTrip(7) == nil)
    }

    @Test func nearlyEqualRoundTripsGoToTheOneListedFirst() {
        var p = NearestHub(count: 3, now: 0)
        p.answered(2, now: 1 * ms)
        p.answered(1, now: 15 * ms)
        p.answered(2, now: 0)                            // a repeat is ignored
        #expect(p.choice(now: 21 * ms) == 1)
        #expect(p.roundTrip(2) == 1 * ms)
    }

    @Test func farAwayTheToleranceGrowsWithTheRoundTrip() {
        var p = NearestHub(count: 2, now: 0)
        p.answered(1, now: 100 * ms)
        p.answered(0, now: 140 * ms)                     // within half of 100 ms: as near
        #expect(p.choice(now: 149 * ms) == nil)
        #expect(p.choice(now: 150 * ms) == 0)
    }

    @Test func anAnswerFromAHubNotProbedIsIgnored() {
        var p = NearestHub(count: 2, now: 0)
        p.answered(5, now: 1 * ms)
        p.answered(-1, now: 1 * ms)
        #expect(p.choice(now: 100 * ms) == nil)
    }
}
