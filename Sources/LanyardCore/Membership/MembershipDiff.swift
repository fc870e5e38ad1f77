/// What changes when a hub's member list is replaced by a new one (a reload, `add-port`, or a
/// shared store's update): members identified by `Key` (their public key) that are new, gone, or
/// still there. A member whose entry changed in a way that matters (`same` says no) is treated as
/// gone and new, so its sessions start over under the new terms; everyone else keeps theirs.
///
/// Pure: the switch and the VPN server apply the result to their peers, MAC pins and addresses.
public struct MembershipDiff<Key: Hashable> {
    /// Slots of current members to remove (gone from the list, or changed).
    public var removed: [Int]
    /// Positions in the new list of members to add (new, or changed).
    public var added: [Int]
    /// Current slots that stay, each with its position in the new list.
    public var kept: [(slot: Int, position: Int)]

    /// Compares the current members (`slot`, key) with the `wanted` list's keys; `same(slot,
    /// position)` says whether the entry at `position` keeps the current member at `slot` as it is.
    public init(current: [(slot: Int, key: Key)], wanted: [Key], same: (Int, Int) -> Bool) {
        var positions: [Key: Int] = [:]
        for (i, key) in wanted.enumerated() where positions[key] == nil { positions[key] = i }
        var unmatched = Set(positions.values)
        removed = []
        kept = []
        for (slot, key) in current {
            if let p = positions[key], unmatched.contains(p), same(slot, p) {
                kept.append((slot, p))
                unmatched.remove(p)
            } else {
                removed.append(slot)
            }
        }
        added = unmatched.sorted()
    }
}
