import Testing
@testable import LanyardCore

@Suite struct PathSelectorTests {
    let s = Nanoseconds.seconds(1)
    let ms = Nanoseconds.seconds(0.001)

    /// Collects the probes due at `now`.
    func due(_ p: inout PathSelector<String>, _ now: Nanoseconds) -> [(String, UInt64)] {
        var out: [(String, UInt64)] = []
        p.probes(now: now) { out.append(($0, $1)) }
        return out
    }

    @Test func startsRelayedAndGoesDirectOnlyAfterAnAnsweredProbe() {
        var p = PathSelector<String>()
        p.add(["nat:1"], origin: .observed, now: 0)
        #expect(p.path(now: 0) == .relayed)
        #expect(due(&p, 0).isEmpty) // idle: no probes
        p.noteActivity(now: 0)
        let probes = due(&p, 0)
        #expect(probes.map(\.0) == ["nat:1"])
        // A pong with the wrong id, or from another address, confirms nothing.
        let changed1 = p.pongReceived(from: "nat:1", probeID: probes[0].1 + 1, now: ms)

        #expect(!changed1)
        let changed2 = p.pongReceived(from: "other:9", probeID: probes[0].1, now: ms)

        #expect(!changed2)
        #expect(p.path(now: ms) == .relayed)
        let changed3 = p.pongReceived(from: "nat:1", probeID: probes[0].1, now: 2 * ms)

        #expect(changed3)
        #expect(p.path(now: 2 * ms) == .direct("nat:1"))
        #expect(p.rtt(now: 2 * ms) == 2 * ms)
        // The same pong again (a replayed answer) changes nothing.
        let changed4 = p.pongReceived(from: "nat:1", probeID: probes[0].1, now: 3 * ms)

        #expect(!changed4)
    }

    @Test func aSilentDirectPathFallsBackToTheRelayWithinTheTrustTime() {
        var p = PathSelector<String>()
        p.add(["a:1"], origin: .local, now: 0)
        p.noteActivity(now: 0)
        let first = due(&p, 0)
        p.pongReceived(from: "a:1", probeID: first[0].1, now: ms)
        var now = ms
        var lastDirect: Nanoseconds = 0
        // Traffic keeps flowing, the path stops answering: probes every 2 s, relay after ≤ 5 s.
        while now < 20 * s {
            p.noteActivity(now: now)
            _ = due(&p, now)
            if p.path(now: now) != .relayed { lastDirect = now }
            now += 100 * ms
        }
        #expect(lastDirect >= 4 * s && lastDirect <= 5 * s + ms)
        #expect(p.path(now: now) == .relayed)
    }

    @Test func withoutAnswersProbeRoundsBackOffAndNewCandidatesRestartThem() {
        var p = PathSelector<String>()
        p.add(["x:1", "y:2"], origin: .observed, now: 0)
        var rounds: [Nanoseconds] = []
        var now: Nanoseconds = 0
        while now <= 40 * s {
            p.noteActivity(now: now)
            let probes = due(&p, now)
            if !probes.isEmpty { #expect(probes.count == 2); rounds.append(now) }
            now += 100 * ms
        }
        let gaps = zip(rounds.dropFirst(), rounds).map { Double($0 - $1) / 1e9 }
        // 0.5, 1, 2, 4, 8, 16, 16 s ...
        #expect(gaps.prefix(6).map { ($0 * 10).rounded() / 10 } == [0.5, 1, 2, 4, 8, 16])
        #expect(gaps.allSatisfy { $0 <= 16.1 })
        // A new address (roaming) starts probing at once.
        p.add(["z:3"], origin: .peerReflexive, now: now)
        p.noteActivity(now: now)
        #expect(due(&p, now).count == 3)
    }

    @Test func aClearlyFasterPathWinsAndASlightlyFasterOneDoesNot() {
        var p = PathSelector<String>()
        p.add(["slow:1", "fast:2", "bit:3"], origin: .local, now: 0)
        p.noteActivity(now: 0)
        let probes = Dictionary(uniqueKeysWithValues: due(&p, 0))
        p.pongReceived(from: "slow:1", probeID: probes["slow:1"]!, now: 10 * ms)
        #expect(p.path(now: 10 * ms) == .direct("slow:1"))
        p.pongReceived(from: "bit:3", probeID: probes["bit:3"]!, now: 10 * ms) // same RTT: stays
        #expect(p.path(now: 10 * ms) == .direct("slow:1"))
        p.pongReceived(from: "fast:2", probeID: probes["fast:2"]!, now: 11 * ms) // 11 ms: not clearly faster
        #expect(p.path(now: 11 * ms) == .direct("slow:1"))
    }

    @Test func theSwitchsNewWordReplacesOldAddressesButKeepsThePathInUse() {
        var p = PathSelector<String>()
        p.announce(observed: ["nat:1"], local: ["lan:1", "lan:2"], now: 0)
        p.noteActivity(now: 0)
        let probes = Dictionary(uniqueKeysWithValues: due(&p, 0))
        p.pongReceived(from: "lan:1", probeID: probes["lan:1"]!, now: ms)
        p.pingReceived(from: "refl:9", now: ms)
        // The member roamed: new observed address, one local address gone.
        p.announce(observed: ["nat:2"], local: ["lan:2"], now: 2 * ms)
        let endpoints = Set(p.candidates.map(\.endpoint))
        #expect(endpoints == ["lan:1", "lan:2", "nat:2", "refl:9"]) // lan:1 stays: it is the path in use
        #expect(p.path(now: 2 * ms) == .direct("lan:1"))
        // Many roams never fill the list with dead addresses.
        for i in 0..<50 { p.announce(observed: ["nat:\(100 + i)"], local: [], now: 3 * ms) }
        #expect(p.candidates.count <= 4)
        #expect(p.candidates.contains { $0.endpoint == "nat:149" })
    }

    @Test func idleMembersCostNothingAndCandidatesAreCapped() {
        var p = PathSelector<String>()
        for i in 0..<40 { p.add(["h:\(i)"], origin: i < 10 ? .local : .peerReflexive, now: 0) }
        #expect(p.candidates.count == p.settings.maximumCandidates)
        #expect(due(&p, 100 * s).isEmpty)
        p.noteActivity(now: 100 * s)
        #expect(due(&p, 100 * s).count == p.settings.maximumCandidates)
        #expect(due(&p, 200 * s).isEmpty) // idle again
    }

    /// Security review (issue 19): a member lists 8 of a victim's addresses as its own, then pings
    /// from a new source port every millisecond; each new source restarts the probe rounds. Over
    /// 1 s the port must send the victim no more than its budget, not 8 probes per ping.
    @Test func pingsFromNewSourcesCannotRaiseTheProbesSentToUnansweredCandidates() {
        var p = PathSelector<String>()
        let victim = (1...8).map { "victim:\($0)" }
        p.announce(observed: ["attacker:1"], local: victim, now: 0)
        var toVictim = 0
        var now: Nanoseconds = 0
        for i in 0..<1000 {
            p.pingReceived(from: "attacker:\(1000 + i)", now: now)
            p.probes(now: now) { endpoint, _ in if endpoint.hasPrefix("victim:") { toVictim += 1 } }
            now += ms
        }
        #expect(toVictim <= 16 + 2 + 1) // the default budget: a burst of 16, then 2 a second
        // And later at no more than the rate: 60 s more of the same.
        toVictim = 0
        for i in 0..<60_000 {
            p.pingReceived(from: "attacker:\(5000 + i)", now: now)
            p.probes(now: now) { endpoint, _ in if endpoint.hasPrefix("victim:") { toVictim += 1 } }
            now += ms
        }
        #expect(toVictim <= 2 * 60 + 1)
    }

    /// A confirmed path keeps being probed whatever the budget: only unanswered candidates draw on it.
    @Test func theBudgetNeverStarvesAnAnsweredCandidate() {
        var p = PathSelector<String>()
        p.add(["good:1"], origin: .local, now: 0)
        p.noteActivity(now: 0)
        let first = due(&p, 0)
        p.pongReceived(from: "good:1", probeID: first[0].1, now: ms)
        var now = ms
        var probesToGood = 0
        for i in 0..<30_000 { // 30 s of a ping from a new address every millisecond
            p.pingReceived(from: "noise:\(i)", now: now)
            for (endpoint, id) in due(&p, now) where endpoint == "good:1" {
                probesToGood += 1
                p.pongReceived(from: endpoint, probeID: id, now: now)
            }
            now += ms
        }
        #expect(probesToGood >= 14)
        #expect(p.path(now: now) == .direct("good:1"))
    }

    /// Probe ids are random (not a counter a spoofing member could predict for a third party's
    /// address), never 0 (a handshake kick), and bound to the candidate they were sent to.
    @Test func probeIDsAreUnpredictableAndBoundToTheirCandidate() {
        var p = PathSelector<String>()
        p.add(["a:1", "b:2"], origin: .local, now: 0)
        var ids: [UInt64] = []
        var now: Nanoseconds = 0
        var last: [String: UInt64] = [:]
        while ids.count < 40 {
            p.noteActivity(now: now)
            for (e, id) in due(&p, now) { ids.append(id); last[e] = id }
            now += 100 * ms
        }
        #expect(!ids.contains(0))
        #expect(Set(ids).count == ids.count)
        let steps = zip(ids.dropFirst(), ids).filter { $0 &- $1 < 1 << 32 }.count
        #expect(steps < 2) // a counter would step by 1 every time
        #expect(ids.contains { $0 > 1 << 40 })
        // b's id answered from a: confirms nothing, and a's own id is still needed.
        let fromA = p.pongReceived(from: "a:1", probeID: last["b:2"]!, now: now)
        #expect(!fromA)
        #expect(p.path(now: now) == .relayed)
        let right = p.pongReceived(from: "a:1", probeID: last["a:1"]!, now: now)
        #expect(right)
    }
}

@Suite struct RelayHeaderTests {
    /// SipHash-2-4 reference vectors (key 00..0f, message 00..n-1), from the authors' paper/code.
    @Test func sipHashMatchesTheReferenceVectors() {
        let h = SipHash24(key: (0..<16).map { UInt8($0) })
        let expected: [Int: UInt64] = [0: 0x726f_db47_dd0e_0e31, 1: 0x74f8_39c5_93dc_67fd, 8: 0x93f5_f579_9a93_2462,
                                       15: 0xa129_ca61_49be_45e5, 63: 0x958a_324c_eb06_4572]
        for (n, tag) in expected {
            let message = (0..<n).map { UInt8($0) }
            #expect(message.withUnsafeBytes { h.tag($0) } == tag, "length \(n)")
        }
    }

    @Test func aTaggedHeaderVerifiesAndAnyChangeBreaksIt() {
        let key = SipHash24(key: [UInt8](repeating: 7, count: 16))
        var datagram = [UInt8](repeating: 0, count: RelayHeader.length) + [4, 0, 0, 0] + (0..<60).map { UInt8($0) }
        datagram.withUnsafeMutableBytes { RelayHeader.write(into: $0, memberID: 42, counter: 9, key: key) }
        datagram.withUnsafeBytes { d in
            #expect(RelayHeader.isRelay(d))
            #expect(RelayHeader.memberID(d) == 42)
            #expect(RelayHeader.counter(d) == 9)
            #expect(RelayHeader.verify(d, key: key))
            #expect(!RelayHeader.verify(d, key: SipHash24(key: [UInt8](repeating: 8, count: 16))))
        }
        for i in [4, 8, 16, 24, 30] { // id, counter, tag, inner header
            var forged = datagram
            forged[i] ^= 1
            #expect(!forged.withUnsafeBytes { RelayHeader.verify($0, key: key) }, "byte \(i)")
        }
        // The switch rewrites the id for the destination: that is the only change it makes.
        datagram.withUnsafeMutableBytes { RelayHeader.setMemberID(3, in: $0) }
        #expect(datagram.withUnsafeBytes { RelayHeader.memberID($0) } == 3)
        #expect(![UInt8]([1, 0, 0, 0]).withUnsafeBytes { RelayHeader.isRelay($0) })
    }

    @Test func tokenBucketAllowsBurstThenRate() {
        var b = TokenBucket(rate: 10, burst: 3)
        let taken = (0..<5).filter { _ in b.take(now: 1) }.count
        #expect(taken == 3)
        let early = b.take(now: 1 + 50_000_000)
        #expect(!early)
        let later = b.take(now: 1 + 100_000_000)
        #expect(later)
    }
}

@Suite struct DirectoryMessageTests {
    @Test func memberInfoRoundTripsAndRejectsEveryTruncation() throws {
        let info = MemberInfo(id: 7, isUp: true, isRendezvous: true, publicKey: [UInt8](repeating: 9, count: 32),
                              pinnedMACs: [MACAddress("02:00:00:00:00:01")!], learnedMACs: [MACAddress("02:00:00:00:00:02")!],
                              candidates: [CandidateAddress(address: [192, 0, 2, 1], port: 51820)!,
                                           CandidateAddress(address: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 4000)!],
                              name: "laptop")
        let bytes = info.bytes
        let back = try parse(bytes, MemberInfo.init(parsing:))
        #expect(back == info)
        #expect(back.candidates[1].description == "[2001:db8:0:0:0:0:0:1]:4000")
        for n in 0..<bytes.count {
            #expect(throws: LanyardMessage.ParseError.self) { try parse(Array(bytes.prefix(n)), MemberInfo.init(parsing:)) }
        }
        #expect(throws: LanyardMessage.ParseError.self) { try parse((bytes + [0]), MemberInfo.init(parsing:)) }
    }

    @Test func welcomeCarriesTheDirectoryOrNot() throws {
        let plain = LanyardMessage.Welcome(keepaliveSeconds: 5, silenceTimeoutSeconds: 15)
        #expect(try parse(plain.bytes, LanyardMessage.Welcome.init(parsing:)) == plain)
        let full = LanyardMessage.Welcome(keepaliveSeconds: 5, silenceTimeoutSeconds: 15,
                                          directory: .init(memberID: 3, relayKey: [UInt8](repeating: 1, count: 16)))
        #expect(full.bytes.count == 25)
        #expect(try parse(full.bytes, LanyardMessage.Welcome.init(parsing:)) == full)
        var bad = full.bytes
        bad[4] = 2
        #expect(throws: LanyardMessage.ParseError.self) { try parse(bad, LanyardMessage.Welcome.init(parsing:)) }
    }

    /// Security review (issue 19): IPv4-mapped IPv6 addresses are judged by their IPv4 address, so
    /// a member cannot point probes at a port's own loopback as `::ffff:127.0.0.1`.
    @Test func mappedAndCompatibleAddressesAreJudgedByTheirIPv4Address() {
        func v6(_ tail: [UInt8], mapped: Bool = true) -> CandidateAddress {
            CandidateAddress(address: [UInt8](repeating: 0, count: 10) + (mapped ? [0xFF, 0xFF] : [0, 0]) + tail, port: 9)!
        }
        for bad in [[127, 0, 0, 1], [127, 9, 9, 9], [0, 0, 0, 0], [0, 1, 2, 3], [224, 0, 0, 1], [255, 255, 255, 255]] as [[UInt8]] {
            #expect(!v6(bad).isRoutable, "::ffff:\(bad)")
            #expect(!CandidateAddress(address: bad, port: 9)!.isRoutable, "\(bad)")
        }
        #expect(v6([192, 0, 2, 1]).isRoutable)
        #expect(!v6([192, 0, 2, 1], mapped: false).isRoutable) // ::192.0.2.1, deprecated IPv4-compatible
        #expect(!v6([0, 0, 0, 1], mapped: false).isRoutable)   // ::1
        #expect(!v6([0, 0, 0, 0], mapped: false).isRoutable)   // ::
        #expect(CandidateAddress(address: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 9)!.isRoutable)
        #expect(!CandidateAddress(address: [0xFF, 0x02] + [UInt8](repeating: 0, count: 13) + [1], port: 9)!.isRoutable)
    }

    @Test func candidateListsLookupsAndVouchesParseExactly() throws {
        let list = CandidateList([CandidateAddress(address: [203, 0, 113, 2], port: 1)!])
        #expect(try parse(list.bytes, CandidateList.init(parsing:)) == list)
        #expect(throws: LanyardMessage.ParseError.self) { try parse([UInt8]([9]), CandidateList.init(parsing:)) }
        #expect(throws: LanyardMessage.ParseError.self) { try parse([UInt8]([1, 4, 1, 2, 3, 4, 0, 0]), CandidateList.init(parsing:)) } // port 0
        #expect(try parse(LookupRequest.id(5).bytes, LookupRequest.init(parsing:)) == .id(5))
        #expect(throws: LanyardMessage.ParseError.self) { try parse([UInt8](repeating: 0, count: 5), LookupRequest.init(parsing:)) }
        let v = VouchRequest(id: 1, mac: MACAddress("02:00:00:00:00:09")!)
        #expect(try parse(v.bytes, VouchRequest.init(parsing:)) == v)
    }
}

/// Parses `bytes` with `f` (keeps the closures in #expect simple).
func parse<T>(_ bytes: [UInt8], _ f: (UnsafeRawBufferPointer) throws -> T) throws -> T {
    try bytes.withUnsafeBytes { try f($0) }
}
