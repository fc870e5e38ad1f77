import Testing
@testable import LanyardCore

@Suite struct MembershipRevisionTests {
    /// A pong from an older switch (8 bytes) still parses, without a revision; a newer one carries
    /// it; anything else is malformed; bytes after the 16th are ignored (later additions).
    @Test func pongBodiesParseBackwardsTolerantly() throws {
        let old = KeepaliveAnswer(sequence: 7, membershipRevision: nil)
        #expect(old.bytes.count == 8)
        #expect(try parse(old.bytes, KeepaliveAnswer.init(parsing:)) == old)
        let new = KeepaliveAnswer(sequence: 7, membershipRevision: 0x0102_0304_0506_0708)
        #expect(new.bytes.count == 16)
        #expect(try parse(new.bytes, KeepaliveAnswer.init(parsing:)) == new)
        #expect(try parse(new.bytes + [9, 9], KeepaliveAnswer.init(parsing:)) == new)
        for n in [0, 4, 9, 15] {
            #expect(throws: LanyardMessage.ParseError.self) { try parse(Array(new.bytes.prefix(n)), KeepaliveAnswer.init(parsing:)) }
        }
    }

    /// Security review (issue 19): a port that missed a `memberGone` learns at its next keepalive
    /// that membership changed (and looks its members up again); the first revision after
    /// registering is only the baseline.
    @Test func aChangedRevisionAsksForALookupOfEveryMember() {
        var w = RevisionWatch()
        let seen = [w.observe(5), w.observe(5), w.observe(6), w.observe(6)]
        #expect(seen == [false, false, true, false])
        w.reset()
        // A restarted switch: registering looked everyone up already; then a change counts again.
        let afterRestart = [w.observe(1), w.observe(2)]
        #expect(afterRestart == [false, true])
    }
}
