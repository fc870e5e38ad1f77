import LanyardCore
import LanyardLinux
import LanyardWireGuard
import Logging
import Testing
@testable import LanyardNode

/// PeerHub's screening, fed datagrams in memory (its socket, on loopback, is never read here).
@Suite struct PeerHubTests {
    let hubKey = PrivateKey()
    let peerKey = PrivateKey()

    func makeHub() throws -> PeerHub {
        let socket = try UDPSocket(bindTo: SocketAddress.resolve("127.0.0.1:0", passive: true))
        let directory = WireGuardPeerDirectory(privateKey: hubKey, peers: [AuthorizedPeer(name: "p", publicKey: peerKey.publicKey)])
        return PeerHub(directory: directory, socket: socket, logger: Logger(label: "test"))
    }

    /// A WireGuard peer with the hub's one authorized key, to initiate handshakes with it.
    func makeInitiator() -> WireGuardPeer {
        WireGuardPeer(localPrivate: peerKey, peerPublic: hubKey.publicKey, presharedKey: nil,
                      indexAllocator: IndexAllocator(), wallClock: { WallClockTime(seconds: 1_700_000_000, nanoseconds: 0) })
    }

    /// A fresh initiation (148 bytes) from `initiator`; empty if it made none.
    func initiation(from initiator: WireGuardPeer, now: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 256)
        let n = out.withUnsafeMutableBytes { o -> Int in
            if case .writeToNetwork(let n) = initiator.initiateHandshake(into: o, now: Timestamp(nanoseconds: now)) { return n }
            return 0
        }
        return Array(out[0..<n])
    }

    func feed(_ hub: PeerHub, _ bytes: [UInt8], from address: SocketAddress, now: Nanoseconds) {
        var copy = bytes
        copy.withUnsafeMutableBytes { b in
            hub.handle(UnsafeRawBufferPointer(b), from: { address }, arrival: nil, expected: nil, now: now) { _, _, _ in }
        }
    }

    /// Garbage shaped like initiations (right type and length, no valid mac1) must not switch the
    /// hub into cookie mode: only datagrams with a valid mac1 count as load.
    @Test func garbageInitiationsDoNotCountAsLoad() throws {
        let hub = try makeHub()
        let from = try SocketAddress.resolve("192.0.2.9:4000")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var junk = (0..<148).map { _ in UInt8.random(in: 0...255, using: &rng) }
            junk[0] = 1; junk[1] = 0; junk[2] = 0; junk[3] = 0
            feed(hub, junk, from: from, now: 1_000_000_000)
        }
        hub.housekeeping(now: 1_000_000_000, silenceTimeout: .max) { _ in }
        #expect(!hub.isUnderLoad)
        #expect(hub.drops[.invalidMac1] == 500)
    }

    /// Cookies are demanded when handshakes take more than three quarters of the hub's time, not at a
    /// fixed rate: the work clock here charges 1 ms per initiation, so 100 in a 250 ms window
    /// (100 ms, 40%) is absorbed, and 200 (200 ms, 80%) is load.
    @Test func loadIsTheShareOfTimeSpentOnHandshakes() throws {
        for (count, expected) in [(100, false), (200, true)] {
            let hub = try makeHub()
            var ticks: Nanoseconds = 0
            hub.workClock = { ticks += 1_000_000; return ticks }   // read before and after: 1 ms each
            let from = try SocketAddress.resolve("192.0.2.9:4000")
            let message = initiation(from: makeInitiator(), now: 1)
            #expect(message.count == 148)
            hub.housekeeping(now: 1_000_000_000, silenceTimeout: .max) { _ in }   // opens the window
            for _ in 0..<count { feed(hub, message, from: from, now: 1_100_000_000) }
            hub.housekeeping(now: 1_250_000_000, silenceTimeout: .max) { _ in }
            #expect(hub.isUnderLoad == expected, "\(count) initiations, drops \(hub.drops.nonZero)")
            guard expected else { continue }
            // Under load, the flood goes on but is answered with cheap cookie replies (the work
            // clock now charges 0.1 ms): judged by what it would cost without them, it stays load.
            hub.workClock = { ticks += 100_000; return ticks }
            for _ in 0..<count { feed(hub, message, from: from, now: 1_300_000_000) }
            hub.housekeeping(now: 1_500_000_000, silenceTimeout: .max) { _ in }
            #expect(hub.isUnderLoad, "the flood goes on: cookies stay demanded")
            // The flood stops: out of cookie mode.
            for _ in 0..<5 { feed(hub, message, from: from, now: 1_600_000_000) }
            hub.housekeeping(now: 1_750_000_000, silenceTimeout: .max) { _ in }
            #expect(!hub.isUnderLoad, "the flood stopped")
        }
    }

    /// A flood of initiations with a valid mac1 and random fields (anyone who knows the hub's
    /// public key can make them) fails after one Diffie-Hellman each: it is load at a tenth of the
    /// hub's time (here 30 ms of a 250 ms window), where honest handshakes need three quarters.
    /// Under load, initiations without a cookie beyond the budget are dropped unread.
    @Test func failingInitiationsWithAValidMac1AreAFlood() throws {
        let hub = try makeHub()
        var ticks: Nanoseconds = 0
        hub.workClock = { ticks += 500_000; return ticks }   // read before and after: 0.5 ms each
        let from = try SocketAddress.resolve("192.0.2.9:4000")
        let stranger = WireGuardPeer(localPrivate: PrivateKey(), peerPublic: hubKey.publicKey, presharedKey: nil,
                                     indexAllocator: IndexAllocator(), wallClock: { WallClockTime(seconds: 1_700_000_000, nanoseconds: 0) })
        hub.housekeeping(now: 1_000_000_000, silenceTimeout: .max) { _ in }
        for _ in 0..<40 {   // 20 ms: not yet
            feed(hub, initiation(from: stranger, now: 1), from: from, now: 1_100_000_000)
        }
        #expect(!hub.isUnderLoad)
        for _ in 0..<20 {   // 30 ms: a flood, declared at once
            feed(hub, initiation(from: stranger, now: 1), from: from, now: 1_100_000_000)
        }
        #expect(hub.isUnderLoad)
        #expect(hub.drops[.unknownPeerKey] >= 50)
        // Under load: cookie replies until the budget (125 ms a pass) is spent, then shed unread.
        let replies = hub.cookieReplies
        for _ in 0..<400 { feed(hub, initiation(from: stranger, now: 1), from: from, now: 1_150_000_000) }
        #expect(hub.cookieReplies > replies)
        #expect(hub.drops[.handshakeBudgetExhausted] > 0)
        #expect(hub.cookieReplies - replies + hub.drops[.handshakeBudgetExhausted] == 400)
    }

    /// A cookie reply is authenticated only loosely (anyone on the path who saw the initiation can
    /// make one): it must neither move the peer's endpoint nor count as hearing from it.
    @Test func aCookieReplyDoesNotMoveTheEndpoint() throws {
        let hub = try makeHub()
        let home = try SocketAddress.resolve("192.0.2.7:51820")
        let elsewhere = try SocketAddress.resolve("203.0.113.66:9999")
        hub.setRoute(0, endpoint: home, relayMember: nil)
        var initiation = [UInt8](repeating: 0, count: 256)
        let n = initiation.withUnsafeMutableBytes { out -> Int in
            if case .send(let n) = hub.peers[0].link.initiateHandshake(into: out, now: 1) { return n }
            return 0
        }
        #expect(n == 148)
        // The peer, under load, answers with a cookie reply.
        let remote = WireGuardResponderDirectory(localPrivate: peerKey)
        remote.cookieChecker.isUnderLoad = true
        var reply = [UInt8](repeating: 0, count: 256)
        let check = initiation.withUnsafeBytes { i in
            reply.withUnsafeMutableBytes { r in
                remote.checkInitiation(UnsafeRawBufferPointer(rebasing: i[0..<148]), source: home.identityBytes,
                                       now: Timestamp(nanoseconds: 2), into: r)
            }
        }
        guard case .cookieReply(let length) = check else { Issue.record("expected a cookie reply, got \(check)"); return }
        feed(hub, Array(reply[0..<length]), from: elsewhere, now: 5_000_000_000)
        #expect(hub.peers[0].endpoint == home)
        #expect(hub.peers[0].lastHeard == 0)
    }

    /// A port under load answers an initiation that came through the relay with a cookie reply
    /// that goes back through the relay to the member that sent it (every relayed initiation
    /// comes from the switch's address, so a reply sent there raw would reach nobody), and the
    /// cookie it carries is bound to that member, not to the switch's address.
    @Test func aRelayedInitiationGetsItsCookieReplyThroughTheRelay() throws {
        let hub = try makeHub()
        let switchAddress = try SocketAddress.resolve("192.0.2.1:51820")
        hub.relaySender = RelaySender(key: [UInt8](repeating: 7, count: 16))
        hub.setRoute(0, endpoint: switchAddress, relayMember: 42)
        hub.directory.setUnderLoad(true)
        let initiator = makeInitiator()
        let first = initiation(from: initiator, now: 1)
        #expect(first.count == 148)
        first.withUnsafeBytes { b in
            hub.handle(b, from: { switchAddress }, arrival: .relayed, expected: 0, now: 1_000_000_000) { _, _, _ in }
        }
        var sent: [[UInt8]] = []
        hub.io.pendingOutbound.forEachDatagram(oversized: {}) { bytes, _ in sent.append(Array(bytes)) }
        #expect(sent.count == 1)
        guard let datagram = sent.first else { return }
        #expect(datagram.count == RelayHeader.length + WireMessage.cookieReplyLength)
        #expect(datagram.withUnsafeBytes { RelayHeader.isRelay($0) && RelayHeader.memberID($0) == 42 })
        #expect(datagram.count > RelayHeader.length && datagram[RelayHeader.length] == WireMessage.cookieReply)
        // The initiator takes the cookie; its next initiation carries mac2 for the member-bound
        // identity and is accepted, through the relay, while the port is still under load.
        let reply = Array(datagram[RelayHeader.length...])
        var out = [UInt8](repeating: 0, count: 256)
        let taken = reply.withUnsafeBytes { r in
            out.withUnsafeMutableBytes { initiator.decapsulate(datagram: r, into: $0, now: Timestamp(nanoseconds: 2)) }
        }
        #expect(taken == .done)
        let second = initiation(from: initiator, now: 3)
        let handshakesBefore = hub.handshakes
        second.withUnsafeBytes { b in
            hub.handle(b, from: { switchAddress }, arrival: .relayed, expected: 0, now: 1_100_000_000) { _, _, _ in }
        }
        #expect(hub.handshakes == handshakesBefore + 1, "drops: \(hub.drops.nonZero)")
    }

    /// Completes a handshake of `key` with a hub from `address` and returns the peer, its session up.
    func connect(_ hub: PeerHub, _ key: PrivateKey, from address: SocketAddress, now: Nanoseconds) -> WireGuardPeer {
        let peer = WireGuardPeer(localPrivate: key, peerPublic: hubKey.publicKey, presharedKey: nil,
                                 indexAllocator: IndexAllocator(), wallClock: { WallClockTime(seconds: 1_700_000_000, nanoseconds: 0) })
        feed(hub, initiation(from: peer, now: now), from: address, now: now)
        var response: [UInt8] = []
        hub.io.pendingOutbound.forEachDatagram(oversized: {}) { bytes, _ in response = Array(bytes) }
        hub.io.pendingOutbound.reset()
        var out = [UInt8](repeating: 0, count: 256)
        let result = response.withUnsafeBytes { r in
            out.withUnsafeMutableBytes { peer.decapsulate(datagram: r, into: $0, now: Timestamp(nanoseconds: now)) }
        }
        if case .writeToNetwork(let n) = result { feed(hub, Array(out[0..<n]), from: address, now: now) } // the confirming keepalive
        return peer
    }

    /// A data message from `peer` (its session must be up).
    func data(from peer: WireGuardPeer, now: Nanoseconds) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 256)
        let plaintext: [UInt8] = [1, 2, 3, 4]
        let result = plaintext.withUnsafeBytes { p in
            out.withUnsafeMutableBytes { peer.encapsulate(plaintext: p, into: $0, now: Timestamp(nanoseconds: now)) }
        }
        guard case .writeToNetwork(let n) = result else { Issue.record("no data message: \(result)"); return [] }
        return Array(out[0..<n])
    }

    /// Security review (issue 19): one authenticated datagram of a member's own session, sent from
    /// another live member's address, must not remap that address (the victim's relayed traffic
    /// would be refused until its address changed); once the victim has been silent for a while,
    /// the address may change hands (a NAT that reused the mapping).
    @Test func oneDatagramFromAnotherMembersAddressDoesNotTakeItOver() throws {
        let victimKey = PrivateKey(), attackerKey = PrivateKey()
        let socket = try UDPSocket(bindTo: SocketAddress.resolve("127.0.0.1:0", passive: true))
        let directory = WireGuardPeerDirectory(privateKey: hubKey, peers: [
            AuthorizedPeer(name: "victim", publicKey: victimKey.publicKey),
            AuthorizedPeer(name: "attacker", publicKey: attackerKey.publicKey),
        ])
        let hub = PeerHub(directory: directory, socket: socket, logger: Logger(label: "test"))
        let victimAt = try SocketAddress.resolve("192.0.2.10:51820")
        let attackerAt = try SocketAddress.resolve("198.51.100.20:51820")
        let second: Nanoseconds = 1_000_000_000
        let victim = connect(hub, victimKey, from: victimAt, now: second)
        let attacker = connect(hub, attackerKey, from: attackerAt, now: second)
        #expect(hub.peer(at: victimAt) == 0 && hub.peer(at: attackerAt) == 1)
        feed(hub, data(from: attacker, now: 2 * second), from: victimAt, now: 2 * second)
        #expect(hub.peer(at: victimAt) == 0, "the victim's address was taken over")
        #expect(hub.peers[0].endpoint == victimAt)
        #expect(hub.peers[1].endpoint == attackerAt)
        // The victim keeps talking from there: still its address.
        feed(hub, data(from: victim, now: 3 * second), from: victimAt, now: 3 * second)
        #expect(hub.peer(at: victimAt) == 0)
        // The victim falls silent; later the address (a reused NAT mapping) may go to the other.
        feed(hub, data(from: attacker, now: 30 * second), from: victimAt, now: 30 * second)
        #expect(hub.peer(at: victimAt) == 1)
        #expect(hub.peers[1].endpoint == victimAt)
    }
}
