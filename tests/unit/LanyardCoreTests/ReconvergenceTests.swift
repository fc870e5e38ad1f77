import Testing
@testable import LanyardCore

/// What lets a port's peers reach it again quickly after it restarts: a direct path the peer
/// evidently cannot use is left at once, and the TAP keeps its MAC (neighbour caches stay right).
@Suite struct ReconvergenceTests {
    let s = Nanoseconds.seconds(1)

    @Test func distrustLeavesADirectPathAtOnceAndProbesAgain() {
        var p = PathSelector<String>()
        p.add(["nat:1"], origin: .observed, now: 0)
        p.noteActivity(now: 0)
        var probes: [(String, UInt64)] = []
        p.probes(now: 0) { probes.append(($0, $1)) }
        let changed = p.pongReceived(from: "nat:1", probeID: probes[0].1, now: s / 1000)
        #expect(changed)
        #expect(p.path(now: s) == .direct("nat:1"))
        // Without distrust the path stays trusted for trustTime (5 s) after the last pong.
        let left = p.distrust(now: s)
        #expect(left)
        #expect(p.path(now: s) == .relayed)
        // A probe round starts at once (not after the retry backoff).
        var again: [String] = []
        p.probes(now: s) { e, _ in again.append(e) }
        #expect(again == ["nat:1"])
        // Nothing to distrust on the relay.
        let again2 = p.distrust(now: s)
        #expect(!again2)
    }

    @Test func stableMACIsUnicastLocallyAdministeredAndDependsOnlyOnTheKey() {
        let k1 = [UInt8](repeating: 7, count: 32)
        var k2 = k1
        k2[31] = 8
        let m1 = MACAddress.stable(forPublicKey: k1)
        #expect(m1 == MACAddress.stable(forPublicKey: k1))
        #expect(m1 != MACAddress.stable(forPublicKey: k2))
        for key in [k1, k2, [UInt8](repeating: 0xFF, count: 32), [UInt8](repeating: 0, count: 32)] {
            let m = MACAddress.stable(forPublicKey: key)
            #expect(!m.isMulticast)
            #expect(!m.isZero)
            #expect(m.octets[0] & 0x02 == 0x02)   // locally administered
        }
        // The MAC does not show the key's own bytes.
        #expect(Array(MACAddress.stable(forPublicKey: k1).octets[1...]) != [7, 7, 7, 7, 7])
    }
}
