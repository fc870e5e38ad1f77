import LanyardCore

/// What the switch relayed, sealed, between members: per (from, to) pair for `lanyard status`,
/// and in total since start for metrics (totals never go down, so Prometheus sees no reset).
///
/// A pair's counters belong to the two members, not to their slots: they go when either member
/// is removed (a member that later takes the slot starts from nothing), and a pair unused for
/// `idleLimit` is pruned, so the table follows the pairs in use, not every pair ever seen.
struct RelayPairCounters {
    struct Pair {
        var traffic = TrafficCounters()
        var lastUsed: Nanoseconds

        @inline(__always)
        mutating func add(_ bytes: Int, now: Nanoseconds) {
            traffic.sent(bytes)
            lastUsed = now
        }
    }

    /// Pairs unused this long are dropped by `prune`.
    static let idleLimit: Nanoseconds = .seconds(600)
    /// (from << 32 | to) → that pair's traffic.
    private(set) var pairs: [UInt64: Pair] = [:]
    /// Everything relayed since start (members removed included).
    private(set) var total = TrafficCounters()

    /// One datagram of `bytes` relayed from `from` to `to` at `now`.
    @inline(__always)
    mutating func record(from: PortID, to: PortID, bytes: Int, now: Nanoseconds) {
        total.sent(bytes)
        let key = UInt64(from) << 32 | UInt64(to)
        pairs[key, default: Pair(lastUsed: now)].add(bytes, now: now)   // one hash lookup, in place
    }

    /// Forgets every pair `member` is part of (it was removed, or its slot is reused).
    mutating func forget(_ member: PortID) {
        pairs = pairs.filter { UInt32($0.key >> 32) != member && UInt32($0.key & 0xFFFF_FFFF) != member }
    }

    /// Drops pairs unused for `idleLimit` at `now`.
    mutating func prune(now: Nanoseconds) {
        pairs = pairs.filter { now &- $0.value.lastUsed < Self.idleLimit }
    }
}
