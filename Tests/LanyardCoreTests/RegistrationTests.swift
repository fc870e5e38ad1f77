import Testing
@testable import LanyardCore

@Suite struct RegistrationTests {
    let s = Nanoseconds.seconds(1)

    @Test func handshakesAtOnceThenBacksOffExponentially() {
        var r = Registration(now: 0)
        #expect(r.tick(now: 0) == .startHandshake(attempt: 1))
        #expect(r.tick(now: s / 2) == nil)
        #expect(r.tick(now: s) == .startHandshake(attempt: 2))       // +1 s
        #expect(r.tick(now: 2 * s) == nil)
        #expect(r.tick(now: 3 * s) == .startHandshake(attempt: 3))   // +2 s
        #expect(r.tick(now: 6 * s) == nil)
        #expect(r.tick(now: 7 * s) == .startHandshake(attempt: 4))   // +4 s
        #expect(r.backoff(after: 10) == .seconds(16))                // capped
    }

    @Test func pingsWhileRegisteredAndDetectsSilence() {
        var r = Registration(keepaliveInterval: 5 * s, silenceTimeout: 15 * s, now: 0)
        _ = r.tick(now: 0)
        r.welcomed(now: s)
        #expect(r.isRegistered)
        #expect(r.tick(now: 5 * s) == nil)
        #expect(r.tick(now: 6 * s) == .ping)
        r.heard(now: 6 * s)
        #expect(r.tick(now: 11 * s) == .ping)
        #expect(r.tick(now: 21 * s) == .ping)
        #expect(r.tick(now: 22 * s) == .lostHub(silence: 16 * s))
        #expect(!r.isRegistered)
        #expect(r.tick(now: 22 * s) == .startHandshake(attempt: 1))
    }

    @Test func hubLeavingRetriesAfterInitialBackoff() {
        var r = Registration(now: 0)
        r.welcomed(now: 0)
        r.hubLeft(now: 10 * s)
        #expect(r.tick(now: 10 * s) == nil)
        #expect(r.tick(now: 11 * s) == .startHandshake(attempt: 1))
    }
}
