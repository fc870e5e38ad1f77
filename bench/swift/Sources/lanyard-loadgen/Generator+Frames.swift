import LanyardCore
import LanyardWireGuard

extension Generator {
    /// Size of learning frames: the smallest Ethernet frame (only the source MAC matters).
    static let learningFrameBytes = 60

    /// Each registered port sends one frame so the switch learns its MAC: self-addressed (learned,
    /// then dropped, no flood) or broadcast. Paced at `Outbox.capacity` per millisecond, so that
    /// 20,000 of them do not overflow the switch's socket buffer at once. Then drains for `settle`.
    func learnMACs(broadcast: Bool, settle: Double) {
        var sent = 0
        for port in ports where port.state == .registered && !interrupted {
            sendFrame(from: port, to: broadcast ? .broadcast : port.mac, frameBytes: Self.learningFrameBytes, now: Clock.now())
            sent += 1
            if sent % Outbox.capacity == 0 { pump(milliseconds: 1) }
        }
        drain(seconds: settle)
    }

    /// Phase 2: port 2k and 2k+1 send frames to each other's MAC for `seconds`, keeping at most
    /// `window` frames in flight (sent, not arrived, not addressed to a port that left since);
    /// `churn` makes ports leave and rejoin meanwhile. Returns the unicast frames received in that
    /// time.
    func exchangeFrames(seconds: Double, window: Int, churn schedule: ChurnSchedule) -> Int {
        let senders = pairedPorts
        guard !senders.isEmpty else { return 0 }
        for port in senders { port.isSending = true }
        var schedule = schedule
        let start = Clock.now()
        let end = start.adding(.init(nanoseconds: UInt64(seconds * 1e9)))
        let sentBefore = traffic.framesSent, receivedBefore = traffic.unicastReceived, leftBefore = churn.lostAsLeft
        // Frames given up for lost after a stall; they come off again if they arrive after all,
        // so that late arrivals never let more than `window` frames into flight.
        var writtenOff = 0
        var lastArrival = (count: receivedBefore, at: start)
        var cursor = 0
        while !interrupted {
            let now = Clock.now()
            if now >= end { break }
            for index in schedule.due(elapsed: Clock.seconds(from: start, to: now)) { leave(ports[index], now: now) }
            var inFlight: Int {
                traffic.framesSent - sentBefore - (traffic.unicastReceived - receivedBefore) - (churn.lostAsLeft - leftBefore)
            }
            writtenOff = min(writtenOff, inFlight)
            var burst = min(32, window - (inFlight - writtenOff))
            // Bounded by one lap of the senders: many of them may be paused by churn.
            for _ in 0..<senders.count where burst > 0 {
                let port = senders[cursor]
                cursor = cursor + 1 == senders.count ? 0 : cursor + 1
                guard port.isSending else { continue }
                sendFrameToPartner(port, now: now)
                burst -= 1
            }
            let full = inFlight - writtenOff >= window
            pump(milliseconds: full ? 2 : 0)
            if traffic.unicastReceived != lastArrival.count {
                lastArrival = (traffic.unicastReceived, now)
            } else if full && now.since(lastArrival.at) >= Self.stallTimeout {
                // Nothing arrived for a while with a full window: count what is in flight as lost, go on.
                writtenOff = inFlight
                traffic.windowStalls += 1
                lastArrival.at = now
            }
            housekeeping(now: now)
        }
        return traffic.unicastReceived - receivedBefore
    }

    /// How long a full window may see no frame arrive before its frames count as lost.
    static let stallTimeout = Timestamp.Duration.milliseconds(50)

    /// A frame of `frameBytes` from `port` to its partner.
    func sendFrameToPartner(_ port: SimulatedPort, now: Timestamp) {
        let partner = ports[port.partner]
        guard sendFrame(from: port, to: partner.mac, frameBytes: frameBytes, now: now) else { return }
        traffic.framesSent += 1
        if port.link?.isDirect == true { traffic.framesSentDirect += 1 }
        partner.framesAddressed += 1
    }

    /// Frames addressed to ports that never left that did not arrive, and the same for ports that
    /// rejoined (since their rejoin).
    func framesLost() -> (stable: Int, rejoined: Int) {
        var stable = 0, rejoined = 0
        for port in ports {
            let lost = port.framesAddressed - port.framesReceived
            if port.hasChurned { rejoined += lost } else { stable += lost }
        }
        return (stable, rejoined)
    }
}
