/// WireGuard's sliding replay window (RFC 6479 style, as in the kernel and wireguard-go): a ring
/// of 33 64-bit blocks; counters up to `windowSize` (2,048) behind the highest seen are tracked exactly,
/// older ones are refused, as is any counter ≥ `limit`.
public struct ReplayWindow: Sendable {
    static let blockBits = 64
    static let ringBlocks = 33
    /// Counters tracked behind the newest one: 2,048, what the documentation promises (one block
    /// more than the window, because the newest block is only partly behind the newest counter).
    public static let windowSize: UInt64 = UInt64((ringBlocks - 1) * blockBits)

    private var ring = [UInt64](repeating: 0, count: ringBlocks)
    private var last: UInt64 = 0
    private let limit: UInt64

    /// A fresh window refusing counters ≥ `limit` (REJECT_AFTER_MESSAGES by default).
    public init(limit: UInt64 = WireGuardTimers.rejectAfterMessages) { self.limit = limit }

    /// Whether `counter` could be accepted, without recording it (use before authenticating).
    public func mightAccept(_ counter: UInt64) -> Bool {
        guard counter < limit else { return false }
        if counter > last { return true }
        if last - counter > Self.windowSize { return false }
        let block = Int((counter / 64) % UInt64(Self.ringBlocks))
        return ring[block] & (1 << (counter % 64)) == 0
    }

    /// Records `counter` and returns true if it is new and inside the window; false for a replay,
    /// a counter too old, or a counter ≥ limit. Call only after the packet authenticated.
    public mutating func accept(_ counter: UInt64) -> Bool {
        guard counter < limit else { return false }
        let blockIndex = counter / 64
        if counter > last {
            let current = last / 64
            let diff = min(blockIndex - current, UInt64(Self.ringBlocks))
            var i: UInt64 = 1
            while i <= diff {
                ring[Int((current + i) % UInt64(Self.ringBlocks))] = 0
                i += 1
            }
            last = counter
        } else if last - counter > Self.windowSize {
            return false
        }
        let slot = Int(blockIndex % UInt64(Self.ringBlocks))
        let bit: UInt64 = 1 << (counter % 64)
        let old = ring[slot]
        ring[slot] = old | bit
        return old & bit == 0
    }
}
