import Testing
@testable import LanyardWireGuard

@Suite struct CookieDirectoryTests {
    let source: [UInt8] = [192, 0, 2, 1, 0x30, 0x39]

    @Test func underLoadCookieRoundTrip() {
        let pair = Pair()
        pair.b.cookieChecker.isUnderLoad = true
        let (_, initiation) = pair.send(pair.a, [1])
        // Without a source the peer cannot send a cookie: refused and counted.
        #expect(pair.receive(pair.b, initiation).0 == .error(.cookieRequired))
        let (r, cookie) = pair.receive(pair.b, initiation, source: source)
        #expect(r == .writeToNetwork(64))
        #expect(pair.receive(pair.a, cookie).0 == .done)
        // The cookie is single-use for decryption: a replayed reply no longer matches a mac1.
        #expect(pair.receive(pair.a, cookie).0 == .error(.decryptFailed))
        // The retransmission carries mac2 and is accepted.
        pair.clock.advance(5.5)
        let (r2, second) = pair.timers(pair.a)
        #expect(r2 == .writeToNetwork(148))
        #expect(second[132..<148].contains { $0 != 0 })
        let (r3, response) = pair.receive(pair.b, second, source: source)
        #expect(r3 == .writeToNetwork(92))
        #expect(pair.receive(pair.a, response).0 == .writeToNetwork(48))
    }

    @Test func badMac1Refused() {
        let pair = Pair()
        var (_, initiation) = pair.send(pair.a, [1])
        initiation[120] ^= 1
        #expect(pair.receive(pair.b, initiation).0 == .error(.invalidMac))
        #expect(pair.b.refusals.invalidMac == 1)
    }

    @Test func directoryRoutesAndIgnoresUnknownKeys() {
        let clock = TestClock()
        let random = TestRandom(seed: 3)
        let serverKey = PrivateKey()
        let directory = WireGuardResponderDirectory(localPrivate: serverKey, indexAllocator: IndexAllocator(random: random), random: random)
        var clients: [(PrivateKey, WireGuardPeer)] = []
        var serverPeers: [WireGuardPeer] = []
        for _ in 0..<5 {
            let key = PrivateKey()
            serverPeers.append(directory.addPeer(publicKey: key.publicKey, presharedKey: nil, random: random, wallClock: { clock.wall }))
            clients.append((key, WireGuardPeer(localPrivate: key, peerPublic: serverKey.publicKey, presharedKey: nil,
                                               indexAllocator: IndexAllocator(random: random), random: random,
                                               wallClock: { clock.wall })))
        }
        var out = [UInt8](repeating: 0, count: 512)
        func run(_ peer: WireGuardPeer, _ datagram: [UInt8]) -> [UInt8] {
            let r = datagram.withUnsafeBytes { d in out.withUnsafeMutableBytes { peer.decapsulate(datagram: d, into: $0, now: clock.now, source: source) } }
            if case .writeToNetwork(let n) = r { return Array(out[0..<n]) }
            if case .writeToTunnel(let n) = r { return Array(out[0..<n]) }
            return []
        }
        func route(_ datagram: [UInt8]) -> DirectoryDecision {
            datagram.withUnsafeBytes { d in out.withUnsafeMutableBytes { directory.route(d, source: source, now: clock.now, into: $0) } }
        }
        let (clientKey, client) = clients[3]
        var initiation = [UInt8]()
        let r = [UInt8]([1, 2, 3]).withUnsafeBytes { p in out.withUnsafeMutableBytes { client.encapsulate(plaintext: p, into: $0, now: clock.now) } }
        if case .writeToNetwork(let n) = r { initiation = Array(out[0..<n]) }
        let check = initiation.withUnsafeBytes { d in out.withUnsafeMutableBytes { directory.checkInitiation(d, source: source, now: clock.now, into: $0) } }
        #expect(check == .initiator(clientKey.publicKey))
        guard case .deliver(let server) = route(initiation) else { Issue.record("not routed"); return }
        #expect(server === serverPeers[3])
        let response = run(server, initiation)
        let data = run(client, response)
        guard case .deliver(let byIndex) = route(data) else { Issue.record("data not routed"); return }
        #expect(byIndex === serverPeers[3])
        #expect(Array(run(byIndex, data).prefix(3)) == [1, 2, 3])

        // Unknown initiator: no reply at all.
        let stranger = WireGuardPeer(localPrivate: PrivateKey(), peerPublic: serverKey.publicKey, presharedKey: nil,
                                     indexAllocator: IndexAllocator(), wallClock: { clock.wall })
        var strangerInit = [UInt8]()
        let rs = [UInt8]([9]).withUnsafeBytes { p in out.withUnsafeMutableBytes { stranger.encapsulate(plaintext: p, into: $0, now: clock.now) } }
        if case .writeToNetwork(let n) = rs { strangerInit = Array(out[0..<n]) }
        guard case .drop(.unknownPeer) = route(strangerInit) else { Issue.record("stranger not dropped"); return }
        // Bad mac1 dropped before any DH; unknown index dropped.
        var forged = strangerInit
        forged[117] ^= 1
        guard case .drop(.invalidMac) = route(forged) else { Issue.record("forged not dropped"); return }
        var lost = data
        lost[4] ^= 0x55
        guard case .drop(.unknownIndex) = route(lost) else { Issue.record("unknown index not dropped"); return }

        // Under load: a cookie reply instead of routing, until the initiator presents mac2.
        directory.cookieChecker.isUnderLoad = true
        clock.advance(6)
        guard case .writeToNetwork(64) = route(strangerInit) else { Issue.record("no cookie under load"); return }
        #expect(serverPeers[3].cookieChecker === directory.cookieChecker)
    }

    @Test func rateLimiterBuckets() {
        let limiter = HandshakeRateLimiter(perSecond: 20, burst: 5)
        var now = Timestamp.seconds(10)
        var allowed = 0
        for _ in 0..<10 where limiter.allow(source: [1], now: now) { allowed += 1 }
        #expect(allowed == 5)
        #expect(limiter.allow(source: [2], now: now))
        now = now.adding(.milliseconds(50))
        #expect(limiter.allow(source: [1], now: now))
        #expect(!limiter.allow(source: [1], now: now))
    }
}
