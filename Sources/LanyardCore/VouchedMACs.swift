/// The source MACs the switch vouched that one member may use, as a port holds them (frames that
/// arrive straight from the member are accepted only from these).
///
/// The switch's word is current, not forever: a vouch is good for `lifetime` after the switch last
/// gave it (in the member's description, or by forwarding a frame of the member from that MAC).
/// A frame from a MAC whose vouch is older than `refreshAfter` asks the switch again, which
/// answers only while the member still holds the MAC; so a member that keeps using its MAC is
/// never interrupted, and one whose MAC the switch gave to another member loses it here within
/// `lifetime`, however quiet the new owner is towards this port. MACs pinned to the member by
/// configuration need no renewal. Pure: time is passed in.
public struct VouchedMACs: Sendable, Equatable {
    /// What a frame from a source MAC gets.
    public enum Verdict: Equatable, Sendable {
        /// Vouched recently: accept.
        case allowed
        /// Vouched, but it is time to ask the switch again: accept, and ask.
        case allowedAskAgain
        /// Not vouched (or no longer): drop, and ask the switch.
        case notVouched
    }

    /// How long a vouch holds without the switch saying it again.
    public static let lifetime: Nanoseconds = .seconds(30)
    /// When a frame from a vouched MAC makes the port ask again.
    public static let refreshAfter: Nanoseconds = .seconds(15)

    private var pinned: Set<MACAddress> = []
    /// Vouched MAC → when the switch last said so.
    private var vouched: [MACAddress: Nanoseconds] = [:]

    public init() {}

    /// The switch's current word on the member (its description): its pins, and the MACs it
    /// holds for it now, which are renewed. A MAC vouched before and not listed now is not
    /// renewed and lapses on its own schedule: a switch that has just restarted lists nothing yet
    /// (members report their MACs within a keepalive interval), and taking its silence for a
    /// withdrawal would cut every direct pair for seconds. A move the switch forwards withdraws at
    /// once (`withdraw`). Expired vouches are forgotten here.
    public mutating func replace(pinned: [MACAddress], learned: [MACAddress], now: Nanoseconds) {
        self.pinned = Set(pinned)
        vouched = vouched.filter { now &- $0.value < Self.lifetime }
        for mac in learned { vouched[mac] = now }
    }

    /// The port registered again after the switch was away (or restarted): every vouch still
    /// held gets one more lifetime for the switch to confirm it.
    public mutating func renewAll(now: Nanoseconds) {
        for mac in vouched.keys { vouched[mac] = now }
    }

    /// The switch vouched for `mac` at `now` (it forwarded a frame of the member from it).
    public mutating func vouch(_ mac: MACAddress, now: Nanoseconds) {
        if vouched.count >= 256 { vouched = vouched.filter { now &- $0.value < Self.lifetime } }
        vouched[mac] = now
    }

    /// The member no longer holds `mac` (the switch moved it to another member).
    public mutating func withdraw(_ mac: MACAddress) {
        vouched[mac] = nil
    }

    /// What a frame from `mac` gets at `now`. While the switch is away (`switchAway`: the port is
    /// not registered), a vouch does not lapse: only the switch could renew it, and direct paths
    /// keep working without it.
    public func check(_ mac: MACAddress, now: Nanoseconds, switchAway: Bool = false) -> Verdict {
        guard let at = vouched[mac] else { return !pinned.isEmpty && pinned.contains(mac) ? .allowed : .notVouched }
        if switchAway { return .allowed }
        let age = now &- at
        if age < Self.refreshAfter { return .allowed }
        if !pinned.isEmpty && pinned.contains(mac) { return .allowed }
        return age < Self.lifetime ? .allowedAskAgain : .notVouched
    }

    /// Whether a frame from `mac` would be accepted at `now`.
    public func allows(_ mac: MACAddress, now: Nanoseconds) -> Bool { check(mac, now: now) != .notVouched }

    /// Vouched MACs, pinned or not, that would be accepted at `now` (for status and tests).
    public func current(now: Nanoseconds) -> Set<MACAddress> {
        pinned.union(vouched.compactMap { now &- $0.value < Self.lifetime ? $0.key : nil })
    }
}
