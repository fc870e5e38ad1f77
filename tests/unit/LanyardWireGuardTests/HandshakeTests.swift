import Testing
@testable import LanyardWireGuard

@Suite struct HandshakeTests {
    @Test(arguments: [false, true])
    func handshakeAndDataBothWays(withPSK: Bool) {
        let pair = Pair(psk: withPSK ? PresharedKey() : nil)
        #expect(!pair.a.isSessionEstablished(now: pair.now))
        let plain = pair.handshake(first: Array("hello".utf8))
        #expect(Array(plain.prefix(5)) == Array("hello".utf8))
        #expect(plain.count == 16 && plain[5...].allSatisfy { $0 == 0 })
        #expect(pair.a.isSessionEstablished(now: pair.now))
        #expect(pair.b.isSessionEstablished(now: pair.now))
        // B -> A
        let message = (0..<100).map { UInt8($0) }
        let (r, datagram) = pair.send(pair.b, message)
        #expect(r == .writeToNetwork(16 + 112 + 16))
        let (r2, back) = pair.receive(pair.a, datagram)
        #expect(r2 == .writeToTunnel(112))
        #expect(Array(back.prefix(100)) == message)
        #expect(pair.a.stats.lastHandshake == pair.now)
        #expect(pair.a.stats.txBytes > 0 && pair.a.stats.rxBytes > 0)
    }

    @Test func mismatchedPSKFails() {
        let random = TestRandom(seed: 9)
        let clock = TestClock()
        let aKey = PrivateKey(), bKey = PrivateKey()
        let a = WireGuardPeer(localPrivate: aKey, peerPublic: bKey.publicKey, presharedKey: PresharedKey(),
                              indexAllocator: IndexAllocator(random: random), random: random, wallClock: { clock.wall })
        let b = WireGuardPeer(localPrivate: bKey, peerPublic: aKey.publicKey, presharedKey: nil,
                              indexAllocator: IndexAllocator(random: random), random: random, wallClock: { clock.wall })
        var out = [UInt8](repeating: 0, count: 256)
        var init1 = [UInt8](), resp = [UInt8]()
        let empty = [UInt8]()
        let r1 = empty.withUnsafeBytes { p in out.withUnsafeMutableBytes { a.encapsulate(plaintext: p, into: $0, now: clock.now) } }
        if case .writeToNetwork(let n) = r1 { init1 = Array(out[0..<n]) }
        let r2 = init1.withUnsafeBytes { d in out.withUnsafeMutableBytes { b.decapsulate(datagram: d, into: $0, now: clock.now) } }
        if case .writeToNetwork(let n) = r2 { resp = Array(out[0..<n]) }
        #expect(resp.count == 92)
        let r3 = resp.withUnsafeBytes { d in out.withUnsafeMutableBytes { a.decapsulate(datagram: d, into: $0, now: clock.now) } }
        #expect(r3 == .error(.decryptFailed))
        #expect(a.refusals.decryptFailed == 1)
    }

    @Test func replayedInitiationRefused() {
        let pair = Pair()
        let (_, initiation) = pair.send(pair.a, [1, 2, 3])
        #expect(pair.receive(pair.b, initiation).0 == .writeToNetwork(92))
        #expect(pair.receive(pair.b, initiation).0 == .error(.staleTimestamp))
        #expect(pair.b.refusals.staleTimestamp == 1)
        // A fresh initiation later is accepted.
        pair.clock.advance(6)
        let (r, again) = pair.timers(pair.a)
        #expect(r == .writeToNetwork(148))
        #expect(pair.receive(pair.b, again).0 == .writeToNetwork(92))
    }

    @Test func initiationFromOtherKeyRefused() {
        let pair = Pair()
        let stranger = WireGuardPeer(localPrivate: PrivateKey(), peerPublic: pair.bKey.publicKey, presharedKey: nil,
                                     indexAllocator: IndexAllocator(), wallClock: { pair.clock.wall })
        let (_, initiation) = pair.send(stranger, [1])
        #expect(pair.receive(pair.b, initiation).0 == .error(.unknownPeer))
    }

    @Test func messageSizesAndParsing() throws {
        let pair = Pair()
        let (_, initiation) = pair.send(pair.a, [])
        #expect(initiation.count == MessageLayout.initiationSize)
        let parsed = try initiation.withUnsafeBytes { try HandshakeInitiation(parsing: $0) }
        #expect(parsed.bytes == initiation)
        #expect(throws: MessageParseError.wrongLength(type: .initiation, length: 147)) {
            try Array(initiation.dropLast()).withUnsafeBytes { try HandshakeInitiation(parsing: $0) }
        }
        #expect(throws: MessageParseError.unknownType) { try [9, 0, 0, 0, 1].withUnsafeBytes { try MessageLayout.classify($0) } }
        #expect(throws: MessageParseError.truncated) { try [4, 0].withUnsafeBytes { try MessageLayout.classify($0) } }
        let (_, response) = pair.receive(pair.b, initiation)
        #expect(response.count == MessageLayout.responseSize)
        let r = try response.withUnsafeBytes { try HandshakeResponse(parsing: $0) }
        #expect(r.bytes == response)
        #expect(r.receiverIndex == parsed.senderIndex)
    }
}

/// Handshake secrets do not outlive the handshake: the initiator's state (ephemeral key, chaining
/// key, hash) is one object, released (and zeroed by its deinit) once the response is consumed.
@Suite struct HandshakeSecretLifetimeTests {
    @Test func initiatorStateIsReleasedWhenTheHandshakeCompletes() {
        let pair = Pair()
        let (r1, initiation) = pair.send(pair.a, Array("hello".utf8))
        #expect(r1 == .writeToNetwork(148))
        weak let state = pair.a.pending
        #expect(state != nil)
        let (_, response) = pair.receive(pair.b, initiation)
        _ = pair.receive(pair.a, response)
        #expect(pair.a.pending == nil)
        #expect(state == nil)   // deinit ran: its secrets were overwritten with zeros
    }

    @Test func zeroizeOverwritesInPlace() {
        var secret: [UInt8] = Array(1...32)
        secret.zeroize()
        #expect(secret == Array(repeating: 0, count: 32))
        var key = PrivateKey()
        key.wipe()
        #expect(key.rawValue == Array(repeating: 0, count: 32))
    }
}
