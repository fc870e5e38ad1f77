import Testing
@testable import LanyardWireGuard

@Suite struct TimerTests {
    @Test func initiatorRekeysAfterRekeyAfterTime() {
        let pair = Pair()
        pair.handshake()
        pair.clock.advance(60)
        _ = pair.receive(pair.b, pair.send(pair.a, [1]).1)
        _ = pair.receive(pair.a, pair.send(pair.b, [2]).1)
        #expect(pair.timers(pair.a).0 == .done)
        #expect(pair.a.nextDeadline(now: pair.now) == pair.now.adding(.seconds(10))) // A's passive keepalive
        _ = pair.receive(pair.b, pair.timersAfter(10.5, pair.a)) // A's passive keepalive answers B
        pair.clock.advance(50.5) // 121 s after the handshake
        #expect(pair.timers(pair.b).0 != .writeToNetwork(148)) // the responder does not rekey on age
        let (r, initiation) = pair.timers(pair.a)
        #expect(r == .writeToNetwork(148))
        #expect(pair.a.isHandshakeInProgress)
        // The old session still works while the new handshake runs.
        #expect(pair.a.isSessionEstablished(now: pair.now))
        let (_, response) = pair.receive(pair.b, initiation)
        #expect(pair.receive(pair.a, response).0 == .writeToNetwork(32))
        #expect(!pair.a.isHandshakeInProgress)
    }

    @Test func sessionRejectedAfterRejectAfterTime() {
        let pair = Pair()
        pair.handshake()
        let (_, late) = pair.send(pair.a, [9])
        pair.clock.advance(181)
        #expect(!pair.a.isSessionEstablished(now: pair.now))
        #expect(pair.receive(pair.b, late).0 == .error(.sessionExpired))
        // Sending now needs a new handshake.
        #expect(pair.send(pair.a, [1]).0 == .writeToNetwork(148))
    }

    @Test func handshakeRetransmittedThenGivenUp() {
        let pair = Pair()
        #expect(pair.send(pair.a, [1]).0 == .writeToNetwork(148))
        pair.clock.advance(4.9)
        #expect(pair.timers(pair.a).0 == .done)
        #expect(pair.a.nextDeadline(now: pair.now)! > pair.now)
        pair.clock.advance(0.5) // 5.4 s > 5 s + jitter (< 333 ms)
        #expect(pair.timers(pair.a).0 == .writeToNetwork(148))
        #expect(pair.a.stats.initiationsSent == 2)
        var sent = 2
        for _ in 0..<1000 {
            pair.clock.advance(0.1)
            if case .writeToNetwork = pair.timers(pair.a).0 { sent += 1 }
            if !pair.a.isHandshakeInProgress { break }
        }
        // 90 s of attempts at ~5 s intervals, then nothing.
        #expect(!pair.a.isHandshakeInProgress)
        #expect(sent >= 17 && sent <= 19)
        #expect(!pair.a.hasQueuedPackets)
        #expect(pair.a.refusals.queueDropped == 1)
        pair.clock.advance(30)
        #expect(pair.timers(pair.a).0 == .done)
    }

    @Test func jitterIsDeterministic() {
        let one = Pair(seed: 5), two = Pair(seed: 5)
        _ = one.send(one.a, [1]); _ = two.send(two.a, [1])
        #expect(one.a.nextDeadline(now: one.now) == two.a.nextDeadline(now: two.now))
        let deadline = one.a.nextDeadline(now: one.now)!
        #expect(deadline >= one.now.adding(.seconds(5)) && deadline < one.now.adding(.milliseconds(5333)))
    }

    @Test func passiveKeepaliveAfterKeepaliveTimeout() {
        let pair = Pair()
        pair.handshake()
        // B received data and sent nothing: after 10 s it sends a keepalive.
        pair.clock.advance(9)
        #expect(pair.timers(pair.b).0 == .done)
        pair.clock.advance(1.5)
        let (r, keepalive) = pair.timers(pair.b)
        #expect(r == .writeToNetwork(32))
        #expect(pair.receive(pair.a, keepalive).0 == .done)
        #expect(pair.timers(pair.b).0 == .done)
        // A received only a keepalive: no keepalive in return.
        pair.clock.advance(11)
        #expect(pair.timers(pair.a).0 == .done)
    }

    @Test func newHandshakeWhenDataGoesUnanswered() {
        let pair = Pair()
        pair.handshake()
        _ = pair.receive(pair.a, pair.timersAfter(11, pair.b)) // B's keepalive, so A's state is clean
        _ = pair.send(pair.a, [1]) // B never answers
        pair.clock.advance(14)
        #expect(pair.timers(pair.a).0 == .done)
        pair.clock.advance(1.1)
        #expect(pair.timers(pair.a).0 == .writeToNetwork(148))
    }

    @Test func persistentKeepalive() {
        let pair = Pair(persistentKeepalive: 25)
        pair.handshake()
        _ = pair.receive(pair.a, pair.timersAfter(10.5, pair.b)) // B's passive keepalive answers A
        pair.clock.advance(13.5)
        #expect(pair.timers(pair.a).0 == .done)
        pair.clock.advance(1)
        #expect(pair.timers(pair.a).0 == .writeToNetwork(32))
        #expect(pair.timers(pair.a).0 == .done)
    }

    @Test func keysZeroedAfterThreeRejectAfterTimes() {
        let pair = Pair()
        pair.handshake()
        #expect(pair.a.hasKeyMaterial && pair.b.hasKeyMaterial)
        _ = pair.receive(pair.a, pair.timersAfter(10.5, pair.b)) // B's passive keepalive answers A
        pair.clock.advance(528)
        #expect(pair.timers(pair.a).0 == .done)
        #expect(pair.timers(pair.b).0 == .done)
        #expect(pair.a.hasKeyMaterial && pair.b.hasKeyMaterial) // expired but not yet erased
        #expect(pair.a.nextDeadline(now: pair.now) == pair.now.adding(.milliseconds(1500)))
        pair.clock.advance(1.5)
        _ = pair.timers(pair.a); _ = pair.timers(pair.b)
        #expect(!pair.a.hasKeyMaterial)
        #expect(!pair.b.hasKeyMaterial)
        #expect(pair.a.localIndices.isEmpty)
    }
}

extension Pair {
    /// Advances the clock and returns what `peer`'s timers want sent.
    func timersAfter(_ seconds: Double, _ peer: WireGuardPeer) -> [UInt8] {
        clock.advance(seconds)
        return timers(peer).1
    }
}
