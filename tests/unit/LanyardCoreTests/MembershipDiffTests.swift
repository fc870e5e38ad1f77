import Testing
@testable import LanyardCore

@Suite struct MembershipDiffTests {
    @Test func addsRemovesAndKeeps() {
        let d = MembershipDiff(current: [(0, "a"), (1, "b"), (3, "c")], wanted: ["c", "d", "a"]) { _, _ in true }
        #expect(d.removed == [1])
        #expect(d.added == [1])                       // "d", at position 1 of the new list
        #expect(d.kept.map(\.slot) == [0, 3])
        #expect(d.kept.map(\.position) == [2, 0])
    }

    /// A changed entry (say, a new preshared key) is removed and added again: its sessions restart.
    @Test func changedEntryIsReplaced() {
        let d = MembershipDiff(current: [(0, "a"), (1, "b")], wanted: ["a", "b"]) { slot, _ in slot != 1 }
        #expect(d.removed == [1])
        #expect(d.added == [1])
        #expect(d.kept.map(\.slot) == [0])
    }

    /// A key listed twice counts once (the first entry), and nothing is added twice.
    @Test func duplicateKeysCountOnce() {
        let d = MembershipDiff(current: [(0, "a")], wanted: ["a", "a", "b", "b"]) { _, _ in true }
        #expect(d.added == [2])
        #expect(d.removed.isEmpty)
    }

    @Test func emptyListRemovesEveryone() {
        let d = MembershipDiff(current: [(0, "a"), (5, "b")], wanted: [String]()) { _, _ in true }
        #expect(d.removed == [0, 5])
        #expect(d.added.isEmpty && d.kept.isEmpty)
    }
}
