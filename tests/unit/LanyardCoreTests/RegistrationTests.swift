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

@Suite struct ClientConfigTests {
    @Test func roundTrips() throws {
        let c = ClientConfig(addresses: ["198.51.100.2/24", "2001:db8:3::2/64"],
                             routes: [IPPrefix("0.0.0.0/0")!, IPPrefix("203.0.113.0/24")!], keepaliveSeconds: 2, silenceSeconds: 6)
        let back = try Array(c.text.utf8).withUnsafeBytes { try ClientConfig(parsing: $0) }
        #expect(back == c)
    }

    @Test(arguments: ["", "address=198.51.100.2/24", "address=nope\nkeepalive=2\nsilence=6", "garbage",
                      "address=198.51.100.2/24\nkeepalive=9\nsilence=6", "address=198.51.100.2/24\nkeepalive=0\nsilence=6"])
    func rejectsBadConfigs(_ text: String) {
        #expect(throws: ClientConfig.ParseError.self) { try Array(text.utf8).withUnsafeBytes { try ClientConfig(parsing: $0) } }
    }

    @Test func poolSkipsServerAndReserved() {
        var pool = AddressPool(IPPrefix("198.51.100.0/29")!)!
        #expect(pool.serverAddress == "198.51.100.1/29")
        let inside = pool.reserve(IPPrefix("198.51.100.3")!)
        let outside = pool.reserve(IPPrefix("203.0.113.3")!)
        let server = pool.reserve(IPPrefix("198.51.100.1")!)
        let twice = pool.reserve(IPPrefix("198.51.100.3")!)
        #expect(inside == nil)
        #expect(outside == .outsidePool)
        #expect(server == .serverAddress)
        #expect(twice == .alreadyTaken)
        let given = (0..<5).map { _ in pool.allocate() }
        #expect(given == [IPPrefix("198.51.100.2"), IPPrefix("198.51.100.4"), IPPrefix("198.51.100.5"), IPPrefix("198.51.100.6"), nil])
        var six = AddressPool(IPPrefix("2001:db8:3::/64")!)!
        let first6 = six.allocate()
        #expect(first6 == IPPrefix("2001:db8:3::2"))
    }
}
