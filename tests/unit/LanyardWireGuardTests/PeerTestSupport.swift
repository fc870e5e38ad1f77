@testable import LanyardWireGuard

/// Two peers wired back to back with a fake clock and deterministic randomness.
final class Pair {
    let clock = TestClock()
    let aKey: PrivateKey
    let bKey: PrivateKey
    let a: WireGuardPeer
    let b: WireGuardPeer
    var out = [UInt8](repeating: 0, count: 2048)

    init(psk: PresharedKey? = nil, persistentKeepalive: UInt16? = nil, seed: UInt64 = 1) {
        let random = TestRandom(seed: seed)
        aKey = try! PrivateKey(rawValue: random.bytes(32))
        bKey = try! PrivateKey(rawValue: random.bytes(32))
        let clock = self.clock
        a = WireGuardPeer(localPrivate: aKey, peerPublic: bKey.publicKey, presharedKey: psk,
                          indexAllocator: IndexAllocator(random: random), persistentKeepalive: persistentKeepalive,
                          random: random, wallClock: { clock.wall })
        b = WireGuardPeer(localPrivate: bKey, peerPublic: aKey.publicKey, presharedKey: psk,
                          indexAllocator: IndexAllocator(random: random),
                          random: random, wallClock: { clock.wall })
    }

    var now: Timestamp { clock.now }

    /// Result and output bytes of encapsulating `plaintext` at `peer`.
    func send(_ peer: WireGuardPeer, _ plaintext: [UInt8]) -> (PeerResult, [UInt8]) {
        let result = plaintext.withUnsafeBytes { p in out.withUnsafeMutableBytes { peer.encapsulate(plaintext: p, into: $0, now: now) } }
        return (result, bytes(of: result))
    }

    /// Result and output bytes of `peer` receiving `datagram`.
    func receive(_ peer: WireGuardPeer, _ datagram: [UInt8], source: [UInt8] = []) -> (PeerResult, [UInt8]) {
        let result = datagram.withUnsafeBytes { d in
            out.withUnsafeMutableBytes { peer.decapsulate(datagram: d, into: $0, now: now, source: source) }
        }
        return (result, bytes(of: result))
    }

    func timers(_ peer: WireGuardPeer) -> (PeerResult, [UInt8]) {
        let result = out.withUnsafeMutableBytes { peer.updateTimers(now: now, into: $0) }
        return (result, bytes(of: result))
    }

    func bytes(of result: PeerResult) -> [UInt8] {
        switch result {
        case .writeToNetwork(let n), .writeToTunnel(let n): return Array(out[0..<n])
        default: return []
        }
    }

    /// Runs a full handshake started by A sending `first`; returns B's tunnel output of it.
    @discardableResult
    func handshake(first: [UInt8] = Array("hello".utf8)) -> [UInt8] {
        let (r1, initiation) = send(a, first)
        precondition(r1 == .writeToNetwork(148))
        let (r2, response) = receive(b, initiation)
        precondition(r2 == .writeToNetwork(92))
        let (r3, data) = receive(a, response)
        precondition(r3 == .writeToNetwork(MessageLayout.transportSize(plaintextCount: first.count)))
        let (r4, plain) = receive(b, data)
        precondition(r4 == .writeToTunnel(MessageLayout.paddedCount(first.count)))
        return plain
    }
}
