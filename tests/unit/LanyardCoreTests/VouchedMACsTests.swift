import Testing
@testable import LanyardCore

@Suite struct VouchedMACsTests {
    let m = MACAddress("02:00:00:00:00:4d")!
    let other = MACAddress("02:00:00:00:00:4e")!
    let s = Nanoseconds.seconds(1)

    /// Security review (issue 19): a member that held MAC M once (the switch vouched for it) must
    /// not be able to take M back at a port long after the switch gave M to another member, even
    /// if this port never saw the move (the new owner has been quiet towards it).
    @Test func aVouchTheSwitchDoesNotRenewLapses() {
        var v = VouchedMACs()
        v.replace(pinned: [], learned: [m], now: 0)
        #expect(v.check(m, now: 1 * s) == .allowed)
        #expect(v.check(other, now: 1 * s) == .notVouched)
        // Later the port asks again; the switch no longer holds M for this member and stays silent.
        #expect(v.check(m, now: 20 * s) == .allowedAskAgain)
        #expect(v.check(m, now: 31 * s) == .notVouched)
        #expect(v.check(m, now: 3_600 * s) == .notVouched)
    }

    /// A member that keeps using its MAC is never interrupted: the switch's answers renew it.
    @Test func aMemberThatKeepsItsMACIsNeverDropped() {
        var v = VouchedMACs()
        v.replace(pinned: [], learned: [m], now: 0)
        var now: Nanoseconds = 0
        var asked = 0
        while now < 600 * s {
            switch v.check(m, now: now) {
            case .allowed: break
            case .allowedAskAgain:
                asked += 1
                v.replace(pinned: [], learned: [m], now: now + s / 10)   // the answer, 100 ms later
            case .notVouched: Issue.record("dropped at \(now)"); return
            }
            now += s
        }
        #expect(asked >= 30 && asked <= 45)
    }

    /// A description that no longer lists M does not renew it: it lapses on its own schedule (a
    /// restarted switch lists nothing yet); a forwarded move withdraws at once; pins never lapse.
    @Test func theSwitchsCurrentWordWins() {
        var v = VouchedMACs()
        v.replace(pinned: [other], learned: [m], now: 0)
        v.replace(pinned: [other], learned: [], now: s) // M is not listed (any more, or yet)
        #expect(v.check(m, now: 2 * s) == .allowed)
        #expect(v.check(m, now: 31 * s) == .notVouched)
        #expect(v.check(other, now: 10_000 * s) == .allowed)
        v.vouch(m, now: 3 * s)
        #expect(v.allows(m, now: 4 * s))
        v.withdraw(m)
        #expect(!v.allows(m, now: 4 * s))
        #expect(v.current(now: 4 * s) == [other])
    }

    /// Review of the security fix: while the switch is away (restarting, unreachable), direct
    /// traffic must go on: a vouch does not lapse then, and registering again renews every vouch
    /// for one more lifetime, so the restarted switch has time to learn the members' MACs.
    @Test func vouchesHoldWhileTheSwitchIsAway() {
        var v = VouchedMACs()
        v.replace(pinned: [], learned: [m], now: 0)
        #expect(v.check(m, now: 120 * s, switchAway: true) == .allowed)
        #expect(v.check(m, now: 120 * s) == .notVouched)
        v.renewAll(now: 120 * s)
        v.replace(pinned: [], learned: [], now: 121 * s)   // the new switch's table is still empty
        #expect(v.check(m, now: 125 * s) == .allowed)
        #expect(v.check(m, now: 151 * s) == .notVouched)   // never confirmed: lapses
    }
}
