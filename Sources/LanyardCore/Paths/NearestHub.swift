/// Which of several hubs (a port's switches) to register with: the nearest that answers. A
/// handshake goes to every hub at once; the first answer (the shortest round trip) starts a short
/// wait, the tolerance: 20 ms or half that round trip, whichever is more. Among the hubs that
/// answered within it, the one listed first is chosen: smaller differences are noise (a busy hub
/// takes a few milliseconds longer to answer), and the operator's order is a preference.
/// Pure: the caller says when it sent and when each hub answered.
public struct NearestHub: Sendable {
    /// Round trips at least this close to the fastest count as equally near.
    public static let minimumTolerance: Nanoseconds = 20_000_000
    private var sentAt: Nanoseconds = 0
    private var roundTrips: [Nanoseconds?]
    private var firstAnswer: Nanoseconds?

    /// Probing `count` hubs, all sent to at `now`.
    public init(count: Int, now: Nanoseconds) {
        roundTrips = Array(repeating: nil, count: count)
        sentAt = now
    }

    /// Hub `index` answered at `now` (later answers of the same hub are ignored).
    public mutating func answered(_ index: Int, now: Nanoseconds) {
        guard roundTrips.indices.contains(index), roundTrips[index] == nil else { return }
        roundTrips[index] = now &- sentAt
        if firstAnswer == nil { firstAnswer = now }
    }

    /// The hub chosen, once the wait after the first answer is over (nil: keep waiting).
    public func choice(now: Nanoseconds) -> Int? {
        guard let first = firstAnswer else { return nil }
        let best = roundTrips.compactMap { $0 }.min()!
        let tolerance = max(Self.minimumTolerance, best / 2)
        guard now &- first >= tolerance else { return nil }
        return roundTrips.firstIndex { $0 != nil && $0! <= best &+ tolerance }
    }

    /// The round trip measured to hub `index`, if it answered.
    public func roundTrip(_ index: Int) -> Nanoseconds? { roundTrips.indices.contains(index) ? roundTrips[index] : nil }
}
