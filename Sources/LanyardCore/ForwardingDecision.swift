/// What the switch does with one frame that came in on a port.
public enum ForwardingDecision: Equatable, Sendable {
    /// Send to this one port only.
    case unicast(PortID)
    /// Send to every port except the ingress port (broadcast, multicast, unknown unicast).
    case flood
    /// Do not forward; the reason is counted.
    case drop(FrameDropReason)
}

/// Why the switch refused a frame.
public enum FrameDropReason: Int, Sendable, CaseIterable, CustomStringConvertible {
    case runt
    case oversized
    case truncatedVLANTag
    case invalidSourceMAC
    case portCapReached
    case tableFull
    case macHeldByLivePort
    case macPinnedToOtherPort
    /// The destination sits behind the port the frame came from.
    case sameIngressPort

    public var description: String {
        switch self {
        case .runt: "runt frame"
        case .oversized: "oversized frame"
        case .truncatedVLANTag: "truncated VLAN tag"
        case .invalidSourceMAC: "invalid source MAC"
        case .portCapReached: "port MAC cap reached"
        case .tableFull: "MAC table full"
        case .macHeldByLivePort: "MAC held by another live port"
        case .macPinnedToOtherPort: "MAC pinned to another port"
        case .sameIngressPort: "destination behind ingress port"
        }
    }

    init(_ error: EthernetFrame.ParseError) {
        switch error {
        case .runt: self = .runt
        case .oversized: self = .oversized
        case .truncatedVLANTag: self = .truncatedVLANTag
        }
    }

    init(_ refusal: MACTable.Refusal) {
        switch refusal {
        case .portCapReached: self = .portCapReached
        case .tableFull: self = .tableFull
        case .heldByLivePort: self = .macHeldByLivePort
        case .pinnedToOtherPort: self = .macPinnedToOtherPort
        }
    }
}

/// Counts events by a reason enum in a fixed array: no hashing, no allocation per count.
public struct ReasonCounters<Reason: RawRepresentable & CaseIterable & Hashable>: Sendable
where Reason.RawValue == Int, Reason: Sendable {
    private var counts: [UInt64]

    public init() { counts = Array(repeating: 0, count: Reason.allCases.count) }

    public subscript(reason: Reason) -> UInt64 { counts[reason.rawValue] }

    public mutating func record(_ reason: Reason) { counts[reason.rawValue] &+= 1 }

    /// Sum of all reasons.
    public var total: UInt64 { counts.reduce(0, &+) }

    /// Non-zero counts, in declaration order.
    public var nonZero: [(Reason, UInt64)] { Reason.allCases.compactMap { counts[$0.rawValue] > 0 ? ($0, counts[$0.rawValue]) : nil } }

    /// What grew since `earlier`, among `reasons` (for a periodic summary in the log).
    public func increase(since earlier: Self, among reasons: [Reason]) -> [(Reason, UInt64)] {
        reasons.compactMap { r in counts[r.rawValue] > earlier.counts[r.rawValue] ? (r, counts[r.rawValue] - earlier.counts[r.rawValue]) : nil }
    }
}

/// The switching logic: parse, learn the source, decide where the frame goes.
public struct SwitchFabric: Sendable {
    public private(set) var table: MACTable
    public private(set) var drops = ReasonCounters<FrameDropReason>()
    /// MAC addresses that moved from one port to another.
    public private(set) var moves: UInt64 = 0

    public init(table: MACTable = MACTable()) { self.table = table }

    /// Decides the fate of `frame`, which arrived on `ingress` at `now`, learning its source.
    public mutating func decide(frame bytes: UnsafeRawBufferPointer, ingress: PortID, now: Nanoseconds) -> ForwardingDecision {
        let frame: EthernetFrame
        do { frame = try EthernetFrame(parsing: bytes) } catch { return drop(FrameDropReason(error)) }
        if frame.source.isMulticast || frame.source.isZero { return drop(.invalidSourceMAC) }
        switch table.learn(frame.source, on: ingress, now: now) {
        case .refused(let refusal): return drop(FrameDropReason(refusal))
        case .moved: moves &+= 1
        default: break
        }
        if frame.destination.isMulticast { return .flood }
        guard let port = table.port(of: frame.destination, now: now) else { return .flood }
        return port == ingress ? drop(.sameIngressPort) : .unicast(port)
    }

    /// Whether `port` may use source `mac` (pins, caps, a MAC held by another live port), asked
    /// by a member that got a frame from `port` directly; learns it when allowed, counts a refusal.
    public mutating func vouch(_ mac: MACAddress, for port: PortID, now: Nanoseconds) -> Bool {
        if mac.isMulticast || mac.isZero { drops.record(.invalidSourceMAC); return false }
        switch table.learn(mac, on: port, now: now) {
        case .refused(let refusal):
            drops.record(FrameDropReason(refusal))
            return false
        case .moved: moves &+= 1
        default: break
        }
        return true
    }

    /// Forgets a port that left.
    public mutating func removePort(_ port: PortID) { table.removePort(port) }

    /// Forgets a port removed from the network, pins included.
    public mutating func deletePort(_ port: PortID) {
        table.removePort(port)
        table.unpinAll(of: port)
    }

    /// Reserves a MAC for one port.
    public mutating func pin(_ mac: MACAddress, to port: PortID) { table.pin(mac, to: port) }
    /// Releases every MAC pinned to `port` (its new pins follow).
    public mutating func unpinAll(of port: PortID) { table.unpinAll(of: port) }
    /// Drops what was learned of `mac`: the next frame from it is learned under the pins then.
    public mutating func forget(_ mac: MACAddress) { table.forget(mac) }

    /// Ages the table.
    @discardableResult
    public mutating func expire(now: Nanoseconds) -> Int { table.expire(now: now) }

    private mutating func drop(_ reason: FrameDropReason) -> ForwardingDecision {
        drops.record(reason)
        return .drop(reason)
    }
}
