import Testing
import LanyardCore
@testable import LanyardWireGuard

@Suite struct UAPITests {
    let key = PrivateKey()
    var peerKey: PublicKey { PrivateKey().publicKey }
    func hex(_ b: [UInt8]) -> String { UAPI.hex(b) }

    @Test func parsesWhatWgSetconfSends() throws {
        let p1 = peerKey, p2 = peerKey
        let psk = PresharedKey()
        let lines = [
            "private_key=\(hex(key.rawValue))", "listen_port=51820", "fwmark=0", "replace_peers=true",
            "public_key=\(hex(p1.rawValue))", "preshared_key=\(hex(psk.rawValue))", "endpoint=192.0.2.2:51820",
            "persistent_keepalive_interval=25", "replace_allowed_ips=true", "allowed_ip=198.51.100.2/32", "allowed_ip=2001:db8::/32",
            "public_key=\(hex(p2.rawValue))", "remove=true",
        ]
        let r = try UAPI.parseSet(lines)
        #expect(r.privateKey == .some(key))
        #expect(r.listenPort == 51820 && r.fwmark == 0 && r.replacePeers)
        #expect(r.peers.count == 2)
        #expect(r.peers[0].publicKey == p1 && r.peers[0].presharedKey == .some(psk) && r.peers[0].endpoint == "192.0.2.2:51820")
        #expect(r.peers[0].persistentKeepalive == 25 && r.peers[0].replaceAllowedIPs)
        #expect(r.peers[0].allowedIPs == [IPPrefix("198.51.100.2/32")!, IPPrefix("2001:db8::/32")!])
        #expect(r.peers[1].remove)
    }

    @Test func zeroKeysMeanRemoval() throws {
        let zero = String(repeating: "0", count: 64)
        let r = try UAPI.parseSet(["private_key=\(zero)", "public_key=\(hex(peerKey.rawValue))", "preshared_key=\(zero)"])
        #expect(r.privateKey == .some(nil))
        #expect(r.peers[0].presharedKey == .some(nil))
    }

    @Test func refusesBadRequestsWithEINVAL() {
        let bad: [[String]] = [
            ["bogus=1"],
            ["listen_port=70000"],
            ["private_key=abc"],
            ["endpoint=192.0.2.1:1"],                                  // peer key before public_key
            ["public_key=\(hex(peerKey.rawValue))", "allowed_ip=300.0.0.0/8"],
            ["public_key=\(hex(peerKey.rawValue))", "allowed_ip=198.51.100.1"], // no prefix length
            ["public_key=\(hex(peerKey.rawValue))", "remove=yes"],
            ["public_key=\(hex(peerKey.rawValue))", "protocol_version=2"],
            ["no equals sign"],
            ["public_key=zz\(String(repeating: "0", count: 62))"],
        ]
        for lines in bad {
            #expect(throws: UAPI.Failure.self, "\(lines)") { _ = try UAPI.parseSet(lines) }
        }
    }

    @Test func getListsInterfaceThenPeersAndEndsWithErrno() {
        let p = peerKey
        let text = UAPI.formatGet(privateKey: key, listenPort: 51820, fwmark: 0, peers: [
            .init(publicKey: p, presharedKey: nil, endpoint: "192.0.2.2:51820", lastHandshakeSeconds: 1_700_000_000,
                  lastHandshakeNanoseconds: 5, txBytes: 10, rxBytes: 20, persistentKeepalive: 25,
                  allowedIPs: [IPPrefix("198.51.100.0/24")!]),
        ])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "private_key=\(hex(key.rawValue))")
        #expect(lines.contains("public_key=\(hex(p.rawValue))"))
        #expect(lines.contains("allowed_ip=198.51.100.0/24"))
        #expect(!lines.contains { $0.hasPrefix("fwmark") })
        #expect(text.hasSuffix("errno=0\n\n"))
    }
}

@Suite struct ReplayWindowEdgeTests {
    @Test func theWindowIsExactly2048Behind() {
        #expect(ReplayWindow.windowSize == 2048)
        var w = ReplayWindow()
        let top: UInt64 = 100_000
        func accept(_ c: UInt64) -> Bool { w.accept(c) }
        let first = accept(top)
        let atEdge = accept(top - 2048)          // exactly at the edge: still tracked
        let edgeReplayed = accept(top - 2048)    // and a replay of it is refused
        let pastEdge = accept(top - 2049)        // one past the edge: too old
        #expect(first && atEdge && !edgeReplayed && !pastEdge)
        // Reordering inside the window, across block boundaries, in any order.
        let inside = Array(stride(from: top - 1, through: top - 2047, by: -63))
        let fresh = inside.map(accept)
        let again = inside.map(accept)
        #expect(fresh.allSatisfy { $0 } && again.allSatisfy { !$0 })
        // A jump forward by more than the window forgets everything older.
        let jump = accept(top + 5000)
        let old = accept(top)
        let edgeAfterJump = accept(top + 5000 - 2048)
        #expect(jump && !old && edgeAfterJump)
    }
}

@Suite struct RateLimiterTests {
    func v4(_ port: UInt16, _ a: UInt8) -> [UInt8] { [UInt8(port >> 8), UInt8(port & 255), 192, 0, 2, a] }

    @Test func a_thousandSourcePortsFromOneAddressShareOneBucket() {
        let limiter = HandshakeRateLimiter(perSecond: 20, burst: 5)
        let now = Timestamp(nanoseconds: 10_000_000_000)
        let allowed = (0..<1000).filter { limiter.allow(source: v4(UInt16(1000 + $0), 7), now: now) }.count
        #expect(allowed == 5)
        // Another address has its own bucket.
        #expect(limiter.allow(source: v4(1, 8), now: now))
        // IPv6: the same /64 shares a bucket, another /64 does not.
        let a = [0, 1] + [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 7) + [1]
        var b = a; b[17] = 2                  // same /64, other host
        var c = a; c[9] = 2                   // other /64
        let fromA = (0..<5).filter { _ in limiter.allow(source: a, now: now) }.count
        #expect(fromA == 5)
        #expect(!limiter.allow(source: b, now: now))
        #expect(limiter.allow(source: c, now: now))
    }

    @Test func aGlobalCapHoldsAcrossAddresses() {
        let limiter = HandshakeRateLimiter(perSecond: 20, burst: 5, globalPerSecond: 100)
        let now = Timestamp(nanoseconds: 10_000_000_000)
        let allowed = (0..<1000).filter { limiter.allow(source: [0, 1, 198, 51, UInt8($0 / 256), UInt8($0 % 256)], now: now) }.count
        #expect(allowed == 100)
    }
}
