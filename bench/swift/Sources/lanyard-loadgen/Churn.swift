import LanyardCore
import LanyardWireGuard

/// When which ports leave and rejoin during the frame phase: `percent` of the ports per second,
/// spread evenly over the phase, each port at most once, in random order.
struct ChurnSchedule {
    private let order: [Int]
    private let interval: Double
    private var next = 0

    /// No churn.
    static let none = ChurnSchedule(percent: 0, of: [], total: 0, seconds: 1)

    /// `percent` of `total` ports per second for `seconds`, drawn from `eligible` (capped at
    /// all of them).
    init(percent: Double, of eligible: [Int], total: Int, seconds: Double) {
        let count = min(eligible.count, Int((Double(total) * percent / 100 * seconds).rounded()))
        order = Array(eligible.shuffled().prefix(count))
        interval = count > 0 ? seconds / Double(count) : 0
    }

    /// Ports due to leave `elapsed` seconds into the phase (event k at (k + ½) intervals).
    mutating func due(elapsed: Double) -> ArraySlice<Int> {
        let first = next
        while next < order.count && (Double(next) + 0.5) * interval <= elapsed { next += 1 }
        return order[first..<next]
    }
}

extension Generator {
    /// A port restarts: it says `bye` on its session (after the frames it already queued), its
    /// pair stops sending, and it joins again with a fresh peer (handshake + hello → welcome).
    /// What was addressed to it and had not arrived is lost as it left.
    func leave(_ port: SimulatedPort, now: Timestamp) {
        guard port.state == .registered else { return }
        port.isSending = false
        ports[port.partner].isSending = false
        bye.withUnsafeBytes { _ = send($0, from: port, now: now) }
        churn.churned += 1
        churn.lostAsLeft += port.framesAddressed - port.framesReceived
        port.hasChurned = true
        port.restart(switchKey: switchKey, allocator: allocator)
        port.rejoinStartedAt = now
        begin(port, now: now)
    }

    /// A rejoining port got its welcome. If its partner is there, its first frame goes to the
    /// partner (teaching the switch its MAC again, and telling the partner to resume); otherwise
    /// a self-addressed frame teaches the switch its MAC and it waits for the partner's return.
    func rejoined(_ port: SimulatedPort, now: Timestamp) {
        if let started = port.rejoinStartedAt { churn.rejoinLatencies.append(Clock.seconds(from: started, to: now)) }
        port.rejoinStartedAt = nil
        if ports[port.partner].state == .registered {
            port.isSending = true
            sendFrameToPartner(port, now: now)
        } else {
            sendFrame(from: port, to: port.mac, frameBytes: Self.learningFrameBytes, now: now)
        }
    }

    /// A paused port received a unicast frame from `source`: if it is its partner, back and
    /// registered, the pair sends again.
    func partnerReturned(_ port: SimulatedPort, source: MACAddress) {
        let partner = ports[port.partner]
        guard source == partner.mac, partner.state == .registered else { return }
        port.isSending = true
    }
}

extension Generator {
    /// Handles arrivals until no port is rejoining or `timeout` seconds pass.
    func awaitRejoins(timeout: Double) {
        let end = Clock.now().adding(.init(nanoseconds: UInt64(timeout * 1e9)))
        while !interrupted && ports.contains(where: { $0.rejoinStartedAt != nil }) {
            let now = Clock.now()
            if now >= end { break }
            housekeeping(now: now)
            pump(milliseconds: 10)
        }
    }
}
