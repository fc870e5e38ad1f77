/// How one port reaches one other member: the candidate endpoints it knows, the probes it sends
/// them, and the path it chooses — direct to a confirmed endpoint, or through the switch's relay.
/// Pure: the node passes time and events in and sends the probes it is handed.
///
/// Modelled on Tailscale's magicsock (a path is trusted for a while after its last pong, the
/// trusted path is re-probed while traffic flows, a better path must be clearly better to win)
/// and ZeroTier's Peer (paths ranked by latency, retried on a backoff when none answers):
/// - A probe is a `ping` with a fresh random 64-bit id sent inside the end-to-end session to one
///   candidate; only an authenticated `pong` with that id from that endpoint confirms it (a member
///   that can spoof source addresses cannot predict the id sent to a third party's address).
/// - A confirmed path is trusted for `trustTime` after its last pong; while the member is active
///   it is probed every `probeInterval`, so a path that goes silent is left after at most
///   `trustTime` (the relay carries traffic meanwhile).
/// - Without a trusted path, every candidate is probed in rounds at growing intervals
///   (`initialRetry` doubling up to `maximumRetry`); new candidates (a changed address from the
///   switch, a ping from an address not seen before) start the rounds again at once.
/// - Probes to candidates that never answered draw on a budget per member (`unconfirmedProbeRate`
///   a second, at most `unconfirmedProbeBurst` saved up) that refills with time only: a member
///   that lists a victim's addresses as its own and pings from ever new source ports (each one
///   restarting the rounds) cannot make this port send more than the budget towards them.
/// - An idle member (no traffic for `activityWindow`) costs nothing: no probes, no timers.
public struct PathSelector<Endpoint: Hashable & Sendable>: Sendable {
    /// Timing knobs; the defaults give a fall-back to the relay within about 5 s.
    public struct Settings: Sendable, Equatable {
        public var probeInterval: Nanoseconds = .seconds(2)
        public var trustTime: Nanoseconds = .seconds(5)
        public var initialRetry: Nanoseconds = .seconds(0.5)
        public var maximumRetry: Nanoseconds = .seconds(16)
        public var activityWindow: Nanoseconds = .seconds(10)
        /// A challenger's RTT must be below this fraction of the current path's to replace it.
        public var switchRatio: Double = 0.7
        public var maximumCandidates = 16
        /// Probes a second to candidates that have not answered yet (after the burst).
        public var unconfirmedProbeRate: Double = 2
        /// Probes to unanswered candidates that may go out at once (one full round of candidates).
        public var unconfirmedProbeBurst: Double = 16
        public init() {}
    }

    /// Where a candidate came from.
    public enum Origin: String, Sendable {
        /// The address the switch sees this member at (what its NAT made of it).
        case observed
        /// An address the member reported for its own interfaces.
        case local
        /// An address a probe from the member arrived from.
        case peerReflexive = "peer-reflexive"
    }

    /// One endpoint that might reach the member.
    public struct Candidate: Sendable, Equatable {
        public let endpoint: Endpoint
        public var origin: Origin
        public var lastPong: Nanoseconds?
        public var rtt: Nanoseconds?
        var probeID: UInt64 = 0
        var probeSentAt: Nanoseconds = 0
    }

    /// The chosen way to the member.
    public enum Path: Equatable, Sendable {
        case direct(Endpoint)
        case relayed
    }

    public let settings: Settings
    public private(set) var candidates: [Candidate] = []
    private var best: Int?
    private var lastActivity: Nanoseconds?
    private var nextRound: Nanoseconds = 0
    private var failedRounds = 0
    private var nextBestProbe: Nanoseconds = 0
    /// Where the next round starts, so a budget that runs out mid-round does not always skip the same candidates.
    private var roundStart = 0
    /// Probes to unanswered candidates: refilled by time, never by anything the member sends.
    private var unconfirmedBudget: TokenBucket

    public init(settings: Settings = .init()) {
        self.settings = settings
        unconfirmedBudget = TokenBucket(rate: settings.unconfirmedProbeRate, burst: settings.unconfirmedProbeBurst)
    }

    /// The path to use at `now`.
    public func path(now: Nanoseconds) -> Path {
        guard let b = best, let pong = candidates[b].lastPong, now &- pong <= settings.trustTime else { return .relayed }
        return .direct(candidates[b].endpoint)
    }

    /// The confirmed path's round-trip time, if a direct path is in use.
    public func rtt(now: Nanoseconds) -> Nanoseconds? {
        guard case .direct = path(now: now), let b = best else { return nil }
        return candidates[b].rtt
    }

    /// Whether traffic flowed recently enough to keep probing.
    public func isActive(now: Nanoseconds) -> Bool {
        guard let lastActivity else { return false }
        return now &- lastActivity <= settings.activityWindow
    }

    /// Traffic was sent to or received from the member.
    public mutating func noteActivity(now: Nanoseconds) {
        if !isActive(now: now), path(now: now) == .relayed { nextRound = now }
        lastActivity = now
    }

    /// Adds candidates (known ones keep their state); new ones start a probe round at once.
    public mutating func add<S: Sequence>(_ endpoints: S, origin: Origin, now: Nanoseconds) where S.Element == Endpoint {
        var added = false
        for e in endpoints where !candidates.contains(where: { $0.endpoint == e }) {
            guard candidates.count < settings.maximumCandidates || evictOne() else { break }
            candidates.append(Candidate(endpoint: e, origin: origin))
            added = true
        }
        if added, path(now: now) == .relayed {
            failedRounds = 0
            nextRound = now
        }
    }

    /// The switch's current word on where the member is: replaces the observed and local
    /// candidates it gave before (an address the member left is no longer probed), keeping
    /// peer-reflexive ones and the path in use.
    public mutating func announce(observed: [Endpoint], local: [Endpoint], now: Nanoseconds) {
        let keep = Set(observed + local)
        let current = best.map { candidates[$0].endpoint }
        candidates.removeAll { ($0.origin == .observed || $0.origin == .local) && !keep.contains($0.endpoint) && $0.endpoint != current }
        best = current.flatMap { c in candidates.firstIndex { $0.endpoint == c } }
        add(observed, origin: .observed, now: now)
        add(local, origin: .local, now: now)
    }

    /// A probe arrived from `endpoint`: the member can reach us there, so it is worth probing back.
    public mutating func pingReceived(from endpoint: Endpoint, now: Nanoseconds) {
        noteActivity(now: now)
        add(CollectionOfOne(endpoint), origin: .peerReflexive, now: now)
    }

    /// An authenticated pong came back. Returns true when it changed the chosen path.
    @discardableResult
    public mutating func pongReceived(from endpoint: Endpoint, probeID: UInt64, now: Nanoseconds) -> Bool {
        guard let i = candidates.firstIndex(where: { $0.endpoint == endpoint }), candidates[i].probeID == probeID,
              probeID != 0 else { return false }
        let before = path(now: now)
        candidates[i].lastPong = now
        candidates[i].rtt = now &- candidates[i].probeSentAt
        candidates[i].probeID = 0
        failedRounds = 0
        if let b = best, b != i, case .direct = before, let current = candidates[b].rtt, let challenger = candidates[i].rtt {
            if Double(challenger) < Double(current) * settings.switchRatio { best = i }
        } else if best == nil || before == .relayed {
            best = i
        }
        return path(now: now) != before
    }

    /// The member evidently cannot use the direct path (it sent a handshake through the relay):
    /// stop trusting it now rather than after `trustTime`, and probe every candidate at once.
    /// Returns true if a direct path was in use.
    @discardableResult
    public mutating func distrust(now: Nanoseconds) -> Bool {
        guard let b = best, case .direct = path(now: now) else { return false }
        candidates[b].lastPong = nil
        candidates[b].probeID = 0
        failedRounds = 0
        nextRound = now
        return true
    }

    /// Forgets every candidate (the member's addresses are no longer believed).
    public mutating func reset() {
        candidates.removeAll()
        best = nil
        failedRounds = 0
    }

    /// Hands out the probes due at `now` as (endpoint, probe id); the node seals a `ping` with
    /// that id to that endpoint. Nothing while the member is idle; probes to candidates that never
    /// answered only as far as the budget allows.
    public mutating func probes(now: Nanoseconds, send: (Endpoint, UInt64) -> Void) {
        guard isActive(now: now), !candidates.isEmpty else { return }
        if case .direct = path(now: now), let b = best {
            guard now >= nextBestProbe else { return }
            nextBestProbe = now + settings.probeInterval
            probe(b, now: now, send: send)
            return
        }
        guard now >= nextRound else { return }
        let n = candidates.count
        var firstSkipped: Int?
        for k in 0..<n {
            let i = (roundStart + k) % n
            if candidates[i].lastPong == nil, !unconfirmedBudget.take(now: now) {
                if firstSkipped == nil { firstSkipped = i }
                continue
            }
            probe(i, now: now, send: send)
        }
        roundStart = firstSkipped ?? 0
        nextRound = now + min(settings.initialRetry << UInt64(min(failedRounds, 16)), settings.maximumRetry)
        failedRounds += 1
    }

    private mutating func probe(_ i: Int, now: Nanoseconds, send: (Endpoint, UInt64) -> Void) {
        var id: UInt64 = 0
        while id == 0 { id = UInt64.random(in: .min ... .max) } // 0 is a handshake kick, never a probe
        candidates[i].probeID = id
        candidates[i].probeSentAt = now
        send(candidates[i].endpoint, id)
    }

    /// Drops the oldest peer-reflexive candidate that never answered; false if there is none.
    private mutating func evictOne() -> Bool {
        guard let i = candidates.firstIndex(where: { $0.origin == .peerReflexive && $0.lastPong == nil }) else { return false }
        candidates.remove(at: i)
        if let b = best { best = b > i ? b - 1 : (b == i ? nil : b) }
        return true
    }
}
